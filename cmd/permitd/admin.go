package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/epermit/epermit/internal/atomicfile"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/store"
	"github.com/epermit/epermit/web"
)

// adminClient calls a running permitd with the admin token from PERMITD_TOKEN.
func adminClient(server, method, path string, body []byte) (*http.Response, error) {
	tok := os.Getenv("PERMITD_TOKEN")
	if tok == "" {
		return nil, fmt.Errorf("%w: --server needs the admin token in PERMITD_TOKEN", errUsage)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(server, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	return resp, nil
}

func tokenCreate(args []string, stdout io.Writer) error {
	var c common
	fs := flags("token create", &c)
	role := fs.String("role", "", "")
	name := fs.String("name", "", "")
	authority := fs.String("authority", "", "")
	srv := fs.String("server", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !store.Role(*role).Valid() || *name == "" {
		return fmt.Errorf("%w: token create needs --role officer|revoker|auditor|admin and --name", errUsage)
	}
	if *srv != "" {
		body, _ := json.Marshal(map[string]string{"role": *role, "name": *name, "authority": *authority})
		resp, err := adminClient(*srv, http.MethodPost, "/v1/admin/tokens", body)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct{ Token, ID string }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return err
		}
		fmt.Fprintln(stdout, out.Token)
		return nil
	}
	db, err := c.openStore()
	if err != nil {
		return err
	}
	defer db.Close()
	if *authority != "" {
		cfgs, err := c.authorityConfigs()
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(cfgs, func(a authorityConfig) bool { return a.Slug == *authority }) {
			return fmt.Errorf("%w: no authority %q in this setup", errUsage, *authority)
		}
	}
	secret, _, err := db.CreateToken(store.APIToken{Role: store.Role(*role), Name: *name, Authority: *authority}, store.Actor{Name: "permitd token create", Role: store.RoleAdmin}, now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	return nil
}

func backupCmd(args []string, stdout io.Writer) error {
	var c common
	fs := flags("backup", &c)
	out := fs.String("out", "", "")
	srv := fs.String("server", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: backup needs --out FILE", errUsage)
	}
	// A failed, short or unreadable copy never takes the name of a backup.
	var n int64
	err := atomicfile.WriteFrom(*out, 0o600, func(f *os.File) error {
		if *srv != "" {
			resp, err := adminClient(*srv, http.MethodGet, "/v1/admin/backup", nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if n, err = io.Copy(f, resp.Body); err != nil {
				return fmt.Errorf("backup cut short after %d bytes: %w", n, err)
			}
			if resp.ContentLength >= 0 && n != resp.ContentLength {
				return fmt.Errorf("backup cut short: %d of %d bytes", n, resp.ContentLength)
			}
		} else {
			db, err := c.openStore()
			if err != nil {
				return err
			}
			n, err = db.Backup(f, nil)
			db.Close()
			if err != nil {
				return err
			}
		}
		if err := f.Sync(); err != nil {
			return err
		}
		check, err := bolt.Open(f.Name(), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			return fmt.Errorf("the backup does not open as a store: %w", err)
		}
		return check.Close()
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup of %d bytes written to %s\n", n, *out)
	return nil
}

func auditVerify(args []string, stdout io.Writer) error {
	var c common
	fs := flags("audit verify", &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	db, err := c.openStore()
	if err != nil {
		return err
	}
	defer db.Close()
	n, head, err := db.VerifyAudit()
	if err != nil {
		return fmt.Errorf("audit log broken after %d good entries: %w", n, err)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries, head %s\n", n, head)
	return nil
}

func keysRotate(args []string, stdout io.Writer) error {
	var c common
	fs := flags("keys rotate", &c)
	slug := fs.String("authority", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfgs, err := c.authorityConfigs()
	if err != nil {
		return err
	}
	rotated := 0
	for _, a := range cfgs {
		if *slug != "" && a.Slug != *slug {
			continue
		}
		kid, err := keys.RotateDir(c.keyDir(a.Slug), now())
		if err != nil {
			return err
		}
		rotated++
		fmt.Fprintf(stdout, "authority %s: new active key %s (send SIGHUP to a running permitd to use it)\n", a.Slug, kid)
	}
	if rotated == 0 {
		return fmt.Errorf("%w: no authority %q", errUsage, *slug)
	}
	return nil
}

// appsExport writes the browser apps as static files, with the root key pin
// of this data directory in /verify/config.json.
func appsExport(args []string, stdout io.Writer) error {
	var c common
	fs := flags("apps export", &c)
	out := fs.String("out", "", "")
	base := fs.String("base-url", os.Getenv("PERMITD_BASE_URL"), "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" || *base == "" {
		return fmt.Errorf("%w: apps export needs --out DIR and --base-url URL (the site that serves /trust-list)", errUsage)
	}
	// The root key must exist: a new one would pin every exported verifier
	// to a key that signs nothing.
	root, err := keys.LoadPrivateKeyFile(filepath.Join(c.data, "keys", "root.key"))
	if err != nil {
		return fmt.Errorf("the root key of %s: %w (is --data the service's data directory?)", c.data, err)
	}
	apps, err := web.New(web.Config{Pin: keys.Thumbprint(root.Public().(ed25519.PublicKey)), Issuer: strings.TrimSuffix(*base, "/")})
	if err != nil {
		return err
	}
	if !apps.Built() {
		return fmt.Errorf("the WebAssembly module is not built into this binary: make wasm, then build again")
	}
	n, err := apps.Export(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d files written under %s: serve verify/, wallet/ and app/ at the root of %s\n", n, *out, *base)
	return nil
}
