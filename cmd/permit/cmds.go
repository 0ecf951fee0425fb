package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"github.com/epermit/epermit/internal/atomicfile"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
)

func keysNew(e *env, args []string) error {
	fs := newFlags(e, "keys new")
	out := fs.String("out", "", "directory for NAME.key and NAME.jwks.json")
	name := fs.String("name", "issuer", "file name stem")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	key, err := keys.Generate()
	if err != nil {
		return err
	}
	keyPath := filepath.Join(*out, *name+".key")
	if err := keys.WritePrivateKeyFile(keyPath, key); err != nil {
		return err
	}
	pub := key.Public().(ed25519.PublicKey)
	set, err := keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub)}}.Marshal()
	if err != nil {
		return err
	}
	jwksPath := filepath.Join(*out, *name+".jwks.json")
	if err := writeFile(jwksPath, append(set, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\t%s\nkid\t%s\n", keyPath, jwksPath, keys.Thumbprint(pub))
	return nil
}

// loadKey loads a private key file and returns it with its kid.
func loadKey(path string) (ed25519.PrivateKey, string, error) {
	k, err := keys.LoadPrivateKeyFile(path)
	if err != nil {
		return nil, "", err
	}
	return k, keys.Thumbprint(k.Public().(ed25519.PublicKey)), nil
}

func issueCmd(e *env, args []string) error {
	fs := newFlags(e, "issue")
	app := fs.String("app", "", "application JSON file")
	holder := fs.String("holder", "", "holder's public JWK file (the wallet's device key)")
	keyFile := fs.String("key", "", "issuer private key file")
	iss := fs.String("iss", "", "issuer identifier (https URL)")
	statusURI := fs.String("status-uri", "", "status list URI")
	idx := fs.Int("idx", -1, "index in the status list")
	issued := fs.String("issued", "", "issue date YYYY-MM-DD (default today, China time)")
	number := fs.String("number", "", "permit number (default: a new one)")
	out := fs.String("out", "", "output file (default stdout)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "app", "holder", "key", "iss", "status-uri"); err != nil {
		return err
	}
	if *idx < 0 {
		return fmt.Errorf("%w: issue needs --idx", errUsage)
	}
	now := e.now()
	today := permit.DateOf(now, permit.ChinaTime())
	if *issued != "" {
		d, err := permit.ParseDate(*issued)
		if err != nil {
			return fmt.Errorf("%w: --issued: %v", errUsage, err)
		}
		today = d
	}
	raw, err := os.ReadFile(*app)
	if err != nil {
		return err
	}
	a, err := permit.ParseApplication(raw)
	if err != nil {
		return err
	}
	if d := permit.Decide(a, today); !d.Eligible {
		for _, c := range d.Unmet {
			fmt.Fprintf(e.stderr, "  %s: %s / %s\n", c.Code, sanitize(c.ZH), sanitize(c.EN))
		}
		return fmt.Errorf("application refused: %d condition(s) not met", len(d.Unmet))
	}
	hraw, err := os.ReadFile(*holder)
	if err != nil {
		return err
	}
	hjwk, err := keys.ParseHolderJWK(hraw)
	if err != nil {
		return fmt.Errorf("--holder: %w", err)
	}
	hpub, err := hjwk.HolderKey()
	if err != nil {
		return fmt.Errorf("--holder: %w", err)
	}
	key, kid, err := loadKey(*keyFile)
	if err != nil {
		return err
	}
	no := *number
	if no == "" {
		if no, err = permit.NewNumber(a.ResidenceDivision, today.Year, rand.Reader); err != nil {
			return err
		}
	}
	p, err := permit.NewPermit(a, no, *iss, today)
	if err != nil {
		return err
	}
	sd, err := issuer.Issue(key, kid, p, *iss, hpub, statuslist.Reference{Idx: *idx, URI: *statusURI}, now, rand.Reader)
	if err != nil {
		return err
	}
	return output(e, *out, sd+"\n")
}

func output(e *env, path, s string) error {
	if path == "" || path == "-" {
		_, err := fmt.Fprint(e.stdout, s)
		return err
	}
	return writeFile(path, []byte(s), 0o644)
}

// writeFile writes atomically: a crash leaves the old file or the new one.
func writeFile(path string, data []byte, mode os.FileMode) error {
	return atomicfile.Write(path, data, mode)
}

var statusNames = map[string]statuslist.Status{"valid": statuslist.Valid, "revoked": statuslist.Invalid, "suspended": statuslist.Suspended}

func statusNew(e *env, args []string) error {
	fs := newFlags(e, "status new")
	uri := fs.String("uri", "", "URI the status list is served at (its sub)")
	keyFile := fs.String("key", "", "issuer private key file")
	out := fs.String("out", "", "status list token file")
	size := fs.Int("size", statuslist.DefaultSize, "number of entries")
	bits := fs.Int("bits", statuslist.DefaultBits, "bits per entry (1, 2, 4, 8)")
	ttl := fs.Duration("ttl", time.Hour, "how long verifiers may cache it")
	valid := fs.Duration("valid", 48*time.Hour, "token lifetime (exp - iat)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "uri", "key", "out"); err != nil {
		return err
	}
	l, err := statuslist.New(*bits, *size)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return signStatus(e, *keyFile, *uri, l, *ttl, *valid, *out)
}

func signStatus(e *env, keyFile, uri string, l *statuslist.List, ttl, valid time.Duration, out string) error {
	key, kid, err := loadKey(keyFile)
	if err != nil {
		return err
	}
	now := e.now()
	tok, err := statuslist.SignToken(key, kid, statuslist.TokenClaims{Sub: uri, IssuedAt: now, ExpiresAt: now.Add(valid), TTL: ttl, List: l})
	if err != nil {
		return err
	}
	return output(e, out, tok+"\n")
}

// readStatus reads a status list token and verifies it with a key of set.
func readStatus(path string, set keys.JWKS) (*statuslist.VerifiedToken, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return statuslist.VerifyToken(strings.TrimSpace(string(raw)), func(h jws.Header) (ed25519.PublicKey, error) {
		if pub, ok := set.Lookup(h.Kid); ok {
			return pub, nil
		}
		return nil, fmt.Errorf("%w: %q", jws.ErrUnknownKey, h.Kid)
	}, 1<<26)
}

func statusSet(e *env, args []string) error {
	fs := newFlags(e, "status set")
	tokFile := fs.String("token", "", "status list token file (updated in place)")
	keyFile := fs.String("key", "", "issuer private key file")
	idx := fs.Int("idx", -1, "entry index")
	value := fs.String("value", "", "valid, revoked or suspended")
	valid := fs.Duration("valid", 48*time.Hour, "token lifetime (exp - iat)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "token", "key", "value"); err != nil {
		return err
	}
	if *idx < 0 {
		return fmt.Errorf("%w: status set needs --idx", errUsage)
	}
	st, ok := statusNames[*value]
	if !ok {
		return fmt.Errorf("%w: --value must be valid, revoked or suspended", errUsage)
	}
	key, _, err := loadKey(*keyFile)
	if err != nil {
		return err
	}
	vt, err := readStatus(*tokFile, keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(key.Public().(ed25519.PublicKey))}})
	if err != nil {
		return err
	}
	if err := vt.List.Set(*idx, st); err != nil {
		return err
	}
	if err := signStatus(e, *keyFile, vt.Sub, vt.List, vt.TTL, *valid, *tokFile); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s[%d] = %s\n", sanitize(vt.Sub), *idx, *value)
	return nil
}

func statusShow(e *env, args []string) error {
	fs := newFlags(e, "status show")
	tokFile := fs.String("token", "", "status list token file")
	keyFile := fs.String("key", "", "issuer JWKS file or private key file, to check the signature")
	idx := fs.Int("idx", -1, "show one entry")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "token", "key"); err != nil {
		return err
	}
	set, err := readJWKSOrKey(*keyFile)
	if err != nil {
		return err
	}
	vt, err := readStatus(*tokFile, set)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "sub\t%s\nkid\t%s\nbits\t%d\nsize\t%d\niat\t%s\nexp\t%s\nttl\t%s\n",
		sanitize(vt.Sub), sanitize(vt.Kid), vt.List.Bits(), vt.List.Size(), vt.IssuedAt.UTC().Format(time.RFC3339), vt.ExpiresAt.UTC().Format(time.RFC3339), vt.TTL)
	if *idx >= 0 {
		s, err := vt.List.Get(*idx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "[%d]\t%s\n", *idx, s)
		return nil
	}
	counts := map[statuslist.Status]int{}
	for i := 0; i < vt.List.Size(); i++ {
		s, _ := vt.List.Get(i)
		if s != statuslist.Valid {
			counts[s]++
		}
	}
	fmt.Fprintf(e.stdout, "revoked\t%d\nsuspended\t%d\n", counts[statuslist.Invalid], counts[statuslist.Suspended])
	return nil
}

func trustSign(e *env, args []string) error {
	fs := newFlags(e, "trust sign")
	root := fs.String("root", "", "root private key file (the provincial authority)")
	issuerKey := fs.String("issuer-key", "", "issuer public JWKS file or private key file")
	iss := fs.String("iss", "", "issuer identifier")
	nameZH := fs.String("name-zh", "杭州市公安局", "issuer display name, Chinese")
	nameEN := fs.String("name-en", "Hangzhou Public Security Bureau", "issuer display name, English")
	region := fs.String("region", "330100", "GB/T 2260 code of the area the issuer serves")
	var uris multi
	fs.Var(&uris, "status-uri", "status list URI of the issuer (repeatable)")
	version := fs.Int64("version", 0, "trust list version (default: the current Unix time)")
	days := fs.Int("days", 30, "validity in days")
	out := fs.String("out", "", "output file")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "root", "issuer-key", "iss", "out"); err != nil {
		return err
	}
	rk, _, err := loadKey(*root)
	if err != nil {
		return err
	}
	set, err := readJWKSOrKey(*issuerKey)
	if err != nil {
		return err
	}
	now := e.now()
	v := *version
	if v == 0 {
		v = now.Unix()
	}
	tok, err := trust.Sign(rk, trust.List{
		Version: v, IssuedAt: now, ExpiresAt: now.AddDate(0, 0, *days),
		Issuers: []trust.Issuer{{ID: *iss, Name: trust.Text{ZH: *nameZH, EN: *nameEN}, Region: *region, JWKS: set, StatusLists: uris}},
		Policy:  trust.DefaultPolicy(),
	})
	if err != nil {
		return err
	}
	if err := output(e, *out, tok+"\n"); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "root thumbprint (pin this in verifiers): %s\n", keys.Thumbprint(rk.Public().(ed25519.PublicKey)))
	return nil
}

func readJWKSOrKey(path string) (keys.JWKS, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return keys.JWKS{}, err
	}
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
		return keys.ParseJWKS(raw)
	}
	k, _, err := loadKey(path)
	if err != nil {
		return keys.JWKS{}, err
	}
	return keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(k.Public().(ed25519.PublicKey))}}, nil
}
