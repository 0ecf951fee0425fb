package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/epermit/epermit/internal/atomicfile"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/store/boltdb"
	"github.com/epermit/epermit/vault"
	"github.com/epermit/epermit/web"
)

// adminClient calls a running permitd with the token in PERMITD_TOKEN.
func adminClient(server, method, path string, body []byte) (*http.Response, error) {
	tok := os.Getenv("PERMITD_TOKEN")
	if tok == "" {
		return nil, fmt.Errorf("%w: --server needs an official's token in PERMITD_TOKEN", errUsage)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(server, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Minute}).Do(req)
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

// callJSON calls a running permitd and decodes its JSON answer into out.
func callJSON(server, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	resp, err := adminClient(server, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out)
}

// cliOfficial is who acts through a local command, for the audit log.
func cliOfficial(cmd string) issuer.Official {
	return issuer.Official{Name: "permitd " + cmd, Role: issuer.RoleAdmin}
}

// quiet discards the service's logs in one-shot commands.
var quiet = slog.New(slog.DiscardHandler)

func tokenCreate(args []string, stdout, stderr io.Writer) error {
	var c common
	fs := flags("token create", &c)
	role := fs.String("role", "", "")
	name := fs.String("name", "", "")
	authority := fs.String("authority", "", "")
	days := fs.Int("days", 0, "")
	srv := fs.String("server", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !issuer.Role(*role).Valid() || *name == "" {
		return fmt.Errorf("%w: token create needs --role officer|revoker|auditor|admin and --name", errUsage)
	}
	if *days < 0 || *days > 730 {
		return fmt.Errorf("%w: --days %d: want 1 to 730 (0: the default, 90)", errUsage, *days)
	}
	var secret string
	var t issuer.Token
	if *srv != "" {
		var out server.TokenResponse
		if err := callJSON(*srv, http.MethodPost, "/v1/admin/tokens", map[string]any{"role": *role, "name": *name, "authority": *authority, "ttl_days": *days}, &out); err != nil {
			return err
		}
		secret, t = out.Secret, out.Token
	} else {
		e, err := c.open(now(), quiet)
		if err != nil {
			return err
		}
		defer e.close()
		secret, t, err = e.svc.CreateToken(context.Background(), cliOfficial("token create"),
			issuer.NewToken{Role: issuer.Role(*role), Name: *name, Authority: *authority, TTL: time.Duration(*days) * 24 * time.Hour}, now())
		if err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, secret)
	fmt.Fprintf(stderr, "token %s: %s %q%s, expires %s\n", t.ID, t.Role, t.Name, forAuthority(t.Authority), t.Expires.Format("2006-01-02"))
	return nil
}

func forAuthority(a string) string {
	if a == "" {
		return ", every authority"
	}
	return ", authority " + a
}

func tokenList(args []string, stdout io.Writer) error {
	var c common
	fs := flags("token list", &c)
	srv := fs.String("server", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	var ts []issuer.Token
	if *srv != "" {
		var out struct {
			Tokens []issuer.Token `json:"tokens"`
		}
		if err := callJSON(*srv, http.MethodGet, "/v1/admin/tokens", nil, &out); err != nil {
			return err
		}
		ts = out.Tokens
	} else {
		e, err := c.open(now(), quiet)
		if err != nil {
			return err
		}
		defer e.close()
		if ts, err = e.svc.Tokens(context.Background(), cliOfficial("token list")); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tAUTHORITY\tNAME\tCREATED\tEXPIRES\tLAST USED\tSTATE")
	t0 := now()
	for _, t := range ts {
		state := "active"
		switch {
		case !t.Revoked.IsZero():
			state = "revoked " + t.Revoked.Format("2006-01-02")
		case !t0.Before(t.Expires):
			state = "expired"
		}
		auth, used := t.Authority, "never"
		if auth == "" {
			auth = "(all)"
		}
		if !t.LastUsed.IsZero() {
			used = t.LastUsed.Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, auth, t.Name, t.Created.Format("2006-01-02"), t.Expires.Format("2006-01-02"), used, state)
	}
	return tw.Flush()
}

func tokenRevoke(args []string, stdout io.Writer) error {
	var c common
	fs := flags("token revoke", &c)
	srv := fs.String("server", "", "")
	id := fs.String("id", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return fmt.Errorf("%w: token revoke needs --id ID (permitd token list shows them)", errUsage)
	}
	var t issuer.Token
	if *srv != "" {
		if err := callJSON(*srv, http.MethodDelete, "/v1/admin/tokens/"+url.PathEscape(*id), nil, &t); err != nil {
			return err
		}
	} else {
		e, err := c.open(now(), quiet)
		if err != nil {
			return err
		}
		defer e.close()
		if t, err = e.svc.RevokeToken(context.Background(), cliOfficial("token revoke"), *id, now()); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "token %s (%s %q) revoked: it is refused from now on\n", t.ID, t.Role, t.Name)
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
			st, err := c.openStorage()
			if err != nil {
				return err
			}
			_, err = st.Snapshot(context.Background(), f)
			st.Close()
			if err != nil {
				return err
			}
			if n, err = f.Seek(0, io.SeekCurrent); err != nil {
				return err
			}
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := issuer.ReadSnapshot(f, func(issuer.Bucket, []byte, []byte) error { return nil }); err != nil {
			return fmt.Errorf("the backup does not read back whole: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup of %d bytes written to %s\n", n, *out)
	fmt.Fprintf(stdout, "To restore it you also need %s (the key-encryption key, the data keys and the signing keys): see docs/security.md.\n", filepath.Join(c.data, "keys"))
	return nil
}

func restoreCmd(args []string, stdout io.Writer) error {
	var c common
	fs := flags("restore", &c)
	from := fs.String("from", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return fmt.Errorf("%w: restore needs --from FILE (a backup) and an empty --data directory holding the keys", errUsage)
	}
	f, err := os.Open(*from)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := c.openStorage()
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := issuer.Restore(context.Background(), st, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d records restored into %s\n", n, c.storePath())
	return nil
}

func auditVerify(args []string, stdout io.Writer) error {
	var c common
	fs := flags("audit verify", &c)
	pin := fs.String("pin", "", "")
	state := fs.String("state", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *pin == "" {
		// Without a pin, the audit key of the data directory: it catches a
		// rewrite by someone who has the store but not the keys directory.
		k, err := keys.LoadPrivateKeyFile(filepath.Join(c.data, "keys", "audit.key"))
		if err != nil {
			return fmt.Errorf("the audit key: %w (or give --pin THUMBPRINT, as permitd printed at its first start)", err)
		}
		*pin = keys.Thumbprint(k.Public().(ed25519.PublicKey))
	}
	var since *issuer.Checkpoint
	if *state != "" {
		data, err := os.ReadFile(*state)
		if err == nil {
			cp, err := issuer.ParseCheckpoint(data)
			if err != nil {
				return fmt.Errorf("--state %s: %w", *state, err)
			}
			since = &cp
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	st, err := c.openStorage()
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := issuer.VerifyAudit(context.Background(), st, *pin, since)
	if err != nil {
		return fmt.Errorf("audit log NOT intact: %w", err)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries, head %s, %d signed checkpoints", r.Entries, r.Head, r.Checkpoints)
	if r.Checkpoints > 0 {
		fmt.Fprintf(stdout, ", the latest covering %d entries (%d after it)", r.Latest.Seq, r.Unsealed)
	}
	fmt.Fprintln(stdout)
	if *state != "" && r.Checkpoints > 0 {
		data, _ := json.Marshal(r.Latest)
		if err := atomicfile.Write(*state, data, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "latest checkpoint saved in %s: the next run with --state %s detects a rollback behind it\n", *state, *state)
	}
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

func keysRotateKEK(args []string, stdout io.Writer) error {
	var c common
	fs := flags("keys rotate-kek", &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	dir := filepath.Join(c.data, "keys", "kek")
	kek, err := vault.LoadFileKEK(dir, false)
	if err != nil {
		return err
	}
	v, err := kek.Rotate()
	if err != nil {
		return err
	}
	st, err := c.openStorage()
	if err != nil {
		return err
	}
	defer st.Close()
	ks, closeKeys, err := c.keyStore(st)
	if err != nil {
		return err
	}
	defer closeKeys()
	n, err := vault.New(kek, ks, nil).Rewrap()
	if err != nil {
		return fmt.Errorf("key-encryption key %d made, but re-wrapping stopped (run again to finish): %w", v, err)
	}
	fmt.Fprintf(stdout, "key-encryption key version %d is active; %d data keys re-wrapped, no record rewritten.\n", v, n)
	fmt.Fprintf(stdout, "The older versions in %s still open backups taken before; delete them once no backup needs them.\n", dir)
	return nil
}

func storeCompact(args []string, stdout io.Writer) error {
	var c common
	fs := flags("store compact", &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	src := c.storePath()
	tmp := src + ".compact"
	_ = os.Remove(tmp)
	before, after, err := boltdb.Compact(src, tmp)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, src); err != nil {
		return err
	}
	if err := atomicfile.SyncDir(filepath.Dir(src)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s compacted: %d bytes, was %d; the free pages and what deleted records left in them are gone\n", src, after, before)
	return nil
}

// endorseCmd endorses the permits listed in a file (CSV with the permit
// number in the first column, or JSON lines with "permit_no"), resumably.
func endorseCmd(args []string, stdout, stderr io.Writer) error {
	var c common
	fs := flags("endorse", &c)
	from := fs.String("from", "", "")
	job := fs.String("job", "", "")
	srv := fs.String("server", "", "")
	batch := fs.Int("batch", 2000, "")
	report := fs.String("report", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return fmt.Errorf("%w: endorse needs --from FILE (CSV or JSON lines of permit numbers)", errUsage)
	}
	if *batch < 1 || *batch > 5000 {
		return fmt.Errorf("%w: --batch %d: want 1 to 5000", errUsage, *batch)
	}
	listed, err := readPermitList(*from)
	if err != nil {
		return err
	}
	setGC()
	// The permits go in the order of their numbers, as the store keeps them:
	// a batch then rewrites neighbouring records, a few pages, instead of a
	// page for each (docs/performance.md, "Bulk yearly endorsement"). The
	// job's lines are positions in that order; the report names the lines
	// of the file.
	order := make([]int, len(listed))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(listed[a], listed[b]) })
	nos := make([]string, len(listed))
	for i, j := range order {
		nos[i] = listed[j]
	}
	if *job == "" {
		// Named by the list's content, in the order it is worked through:
		// next year's list of the same name is another job, and the same
		// list run again resumes.
		h := sha256.New()
		for _, no := range nos {
			h.Write([]byte(no + "\n"))
		}
		*job = fmt.Sprintf("endorse:%s:%x", filepath.Base(*from), h.Sum(nil)[:8])
	}
	var rep io.Writer = io.Discard
	if *report != "" {
		f, err := os.OpenFile(*report, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		rep = f
	}
	var run func(first int, part []string) ([]issuer.EndorseResult, issuer.Job, error)
	var done int
	if *srv != "" {
		run = func(first int, part []string) ([]issuer.EndorseResult, issuer.Job, error) {
			var out struct {
				Results []issuer.EndorseResult `json:"results"`
				Job     issuer.Job             `json:"job"`
			}
			err := callJSON(*srv, http.MethodPost, "/v1/endorsements", map[string]any{"job": *job, "first": first, "permits": part}, &out)
			return out.Results, out.Job, err
		}
		// The server knows where the job stands: ask with an empty batch of
		// the first line, which it skips if done.
		_, j, err := run(0, nos[:min(1, len(nos))])
		if err != nil {
			return err
		}
		done = j.Done
	} else {
		e, err := c.open(now(), quiet)
		if err != nil {
			return err
		}
		defer e.close()
		by := issuer.Official{Name: "permitd endorse", Role: issuer.RoleOfficer}
		run = func(first int, part []string) ([]issuer.EndorseResult, issuer.Job, error) {
			return e.svc.EndorseBatch(context.Background(), by, *job, first, part, now())
		}
		j, err := e.svc.JobProgress(context.Background(), *job)
		if err != nil {
			return err
		}
		done = j.Done
	}
	if done > 0 {
		fmt.Fprintf(stderr, "resuming job %q after %d of %d permits\n", *job, done, len(nos))
	}
	p := newProgress(stderr, len(nos), done)
	var last issuer.Job
	skipped := 0
	for first := done; first < len(nos); first += *batch {
		part := nos[first:min(first+*batch, len(nos))]
		res, j, err := run(first, part)
		if err != nil {
			p.finish()
			return fmt.Errorf("stopped at line %d (run the same command again to resume): %w", first+1, err)
		}
		last = j
		for _, r := range res {
			if !r.Endorsed {
				skipped++
				fmt.Fprintf(rep, "%d,%s,%s,%q\n", order[r.Line]+1, r.PermitNo, r.Code, r.Reason)
			}
		}
		p.update(first+len(part), fmt.Sprintf("%d endorsed, %d skipped", j.Endorsed, j.Skipped))
	}
	p.finish()
	fmt.Fprintf(stdout, "job %q: %d lines, %d endorsed, %d skipped", *job, len(nos), last.Endorsed, last.Skipped)
	if *report != "" {
		fmt.Fprintf(stdout, " (reasons in %s)", *report)
	}
	fmt.Fprintln(stdout, "; wallets can now refresh their credentials")
	return nil
}

// readPermitList reads permit numbers: CSV (first column; a header row
// whose first cell is not a permit number is skipped) or JSON lines.
func readPermitList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "{") {
			var r struct {
				PermitNo string `json:"permit_no"`
			}
			if err := json.Unmarshal([]byte(t), &r); err != nil || r.PermitNo == "" {
				return nil, fmt.Errorf("%s:%d: want {\"permit_no\": ...}", path, line)
			}
			out = append(out, r.PermitNo)
			continue
		}
		cell, _, _ := strings.Cut(t, ",")
		cell = strings.Trim(strings.TrimSpace(cell), `"`)
		if line == 1 && !looksLikePermitNo(cell) {
			continue // a header
		}
		out = append(out, cell)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no permit numbers", path)
	}
	return out, nil
}

func looksLikePermitNo(s string) bool {
	return len(s) >= 8 && strings.IndexFunc(s[:6], func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// progress draws a progress line: count, what was done, rate, time left.
type progress struct {
	w           io.Writer
	total       int
	start       int
	t0, lastOut time.Time
	tty         bool
}

func newProgress(w io.Writer, total, start int) *progress {
	f, ok := w.(*os.File)
	tty := false
	if ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, total: total, start: start, t0: time.Now(), tty: tty}
}

func (p *progress) update(done int, detail string) {
	now := time.Now()
	if !p.tty && now.Sub(p.lastOut) < 5*time.Second && done < p.total {
		return
	}
	p.lastOut = now
	el := now.Sub(p.t0).Seconds()
	rate := float64(done-p.start) / max(el, 1e-3)
	eta := "—"
	if rate > 0 {
		eta = (time.Duration(float64(p.total-done)/rate) * time.Second).Round(time.Second).String()
	}
	width := 30
	fill := width * done / max(p.total, 1)
	bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
	end := "\n"
	if p.tty {
		end = "\r"
	}
	fmt.Fprintf(p.w, "%s %d/%d  %s  %.0f/s  ETA %s   %s", bar, done, p.total, detail, rate, eta, end)
}

func (p *progress) finish() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
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
	fmt.Fprintf(stdout, "%d files written under %s: serve verify/, wallet/, officer/ and app/ at the root of %s\n", n, *out, *base)
	return nil
}
