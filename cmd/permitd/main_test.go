package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/web"
)

func runCmd(args ...string) (int, string, string) {
	var out, errs bytes.Buffer
	code := run(context.Background(), args, &out, &errs, nil)
	return code, out.String(), errs.String()
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"help"}, 0, "Usage:"},
		{[]string{"-h"}, 0, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"token", "create", "--role", "king", "--name", "x"}, 2, "--role officer|revoker|auditor|admin"},
		{[]string{"token", "create", "--role", "officer"}, 2, "--name"},
		{[]string{"backup"}, 2, "--out FILE"},
		{[]string{"serve", "--tls-cert", "x"}, 2, "go together"},
		{[]string{"serve", "--log-format", "xml"}, 2, "text or json"},
		{[]string{"audit", "verify", "extra"}, 2, "unexpected argument"},
		{[]string{"keys", "rotate", "--authority", "nope", "--data", "/nonexistent"}, 2, `no authority "nope"`},
		{[]string{"token", "create", "--role", "officer", "--name", "x", "--server", "http://127.0.0.1:1"}, 2, "PERMITD_TOKEN"},
		{[]string{"serve", "--data", "/nonexistent", "--rate-limit", "0"}, 2, "--rate-limit 0"},
		{[]string{"serve", "--data", "/nonexistent", "--trusted-proxy", "10.0.0.1"}, 2, "want a CIDR"},
		{[]string{"apps", "export", "--data", "/nonexistent", "--out", "/tmp/x", "--base-url", "https://e"}, 1, "is --data the service's data directory?"},
	} {
		code, out, errs := runCmd(tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: %d %q %q, want %d and %q", tc.args, code, out, errs, tc.code, tc.want)
		}
	}
}

// TestWildcardNeedsBaseURL: listening on every address needs --base-url,
// which goes into every credential.
func TestWildcardNeedsBaseURL(t *testing.T) {
	code, _, errs := runCmd("serve", "--data", t.TempDir(), "--addr", "0.0.0.0:0")
	if code != 2 || !strings.Contains(errs, "needs --base-url") {
		t.Fatalf("%d %s", code, errs)
	}
}

// TestAdminCommands exercises the commands that work on a stopped service's
// data directory, and through a running one with --server.
func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	p := approved(t, s, 3)

	// While it runs, the store is locked: --server does the work.
	if code, _, errs := runCmd("token", "create", "--data", dir, "--role", "auditor", "--name", "a"); code != 1 || !strings.Contains(errs, "is permitd running?") {
		t.Fatalf("token create on a locked store: %d %s", code, errs)
	}
	t.Setenv("PERMITD_TOKEN", s.token)
	code, out, errs := runCmd("token", "create", "--server", s.base, "--role", "auditor", "--name", "desk 2")
	if code != 0 || !strings.HasPrefix(out, "ept_") {
		t.Fatalf("token create --server: %d %s %s", code, out, errs)
	}
	auditor := strings.TrimSpace(out)
	var rec server.PermitResponse
	mustCall(t, 200, "GET", s.base+"/v1/permits/"+p.Number, auditor, nil, &rec)
	mustCall(t, 403, "POST", s.base+"/v1/permits/"+p.Number+"/revoke", auditor, server.ReasonRequest{Reason: "x"}, nil)

	hot := filepath.Join(t.TempDir(), "hot.db")
	if code, out, errs := runCmd("backup", "--server", s.base, "--out", hot); code != 0 || !strings.Contains(out, "backup of") {
		t.Fatalf("backup --server: %d %s %s", code, out, errs)
	}
	s.stop()

	cold := filepath.Join(t.TempDir(), "cold.db")
	if code, out, errs := runCmd("backup", "--data", dir, "--out", cold); code != 0 || !strings.Contains(out, "backup of") {
		t.Fatalf("backup: %d %s %s", code, out, errs)
	}
	for _, f := range []string{hot, cold} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		if _, err := issuer.ReadSnapshot(bytes.NewReader(data), func(b issuer.Bucket, k, _ []byte) error {
			found = found || (b == issuer.BucketPermits && string(k) == p.Number)
			return nil
		}); err != nil || !found {
			t.Errorf("backup %s: %v, permit found %v", f, err, found)
		}
		if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
			t.Errorf("backup %s has mode %v", f, fi.Mode())
		}
	}
	// A backup restores into an empty store beside the same keys.
	restored := t.TempDir()
	if err := os.CopyFS(filepath.Join(restored, "keys"), os.DirFS(filepath.Join(dir, "keys"))); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCmd("restore", "--data", restored, "--from", cold); code != 0 || !strings.Contains(out, "records restored") {
		t.Fatalf("restore: %d %s %s", code, out, errs)
	}
	if code, _, errs := runCmd("restore", "--data", restored, "--from", cold); code != 1 || !strings.Contains(errs, "not empty") {
		t.Fatalf("restore into a used store: %d %s", code, errs)
	}

	if code, out, _ := runCmd("token", "create", "--data", dir, "--role", "officer", "--name", "desk 3"); code != 0 || !strings.HasPrefix(out, "ept_") {
		t.Fatalf("token create: %d %s", code, out)
	}
	if code, out, _ := runCmd("token", "create", "--data", dir, "--role", "officer", "--name", "desk 4", "--authority", "zj"); code != 0 || !strings.HasPrefix(out, "ept_") {
		t.Fatalf("token create --authority: %d %s", code, out)
	}
	if code, _, errs := runCmd("token", "create", "--data", dir, "--role", "officer", "--name", "desk 5", "--authority", "sh"); code != 2 || !strings.Contains(errs, `no authority "sh"`) {
		t.Fatalf("token create for an unknown authority: %d %s", code, errs)
	}
	if code, out, _ := runCmd("audit", "verify", "--data", dir); code != 0 || !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify: %d %s", code, out)
	}
	// Tamper with one entry: audit verify names it.
	db, err := bolt.Open(filepath.Join(dir, "permitd.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		k := []byte{0, 0, 0, 0, 0, 0, 0, 3}
		return b.Put(k, bytes.Replace(b.Get(k), []byte(`"action":"`), []byte(`"action":"x`), 1))
	})
	db.Close()
	if code, _, errs := runCmd("audit", "verify", "--data", dir); code != 1 || !strings.Contains(errs, "3") {
		t.Fatalf("audit verify of a tampered log: %d %s", code, errs)
	}
}

// TestKeyRotation rotates the issuer key while the service runs; after
// SIGHUP it signs with the new key and publishes both.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--data", dir, "--addr", "127.0.0.1:0"}, out, &syncBuffer{}, hup)
	}()
	for !strings.Contains(out.String(), "Next:") {
		time.Sleep(5 * time.Millisecond)
	}
	base := listeningRE.FindStringSubmatch(out.String())[1]
	root := rootRE.FindStringSubmatch(out.String())[1]
	list := func() *trust.List {
		l, err := trust.Verify(string(mustCall(t, 200, "GET", base+"/trust-list", "", nil, nil)), root)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	before := list()
	code, rot, _ := runCmd("keys", "rotate", "--data", dir)
	if code != 0 || !strings.Contains(rot, "new active key") {
		t.Fatalf("keys rotate: %d %s", code, rot)
	}
	hup <- syscall.SIGHUP
	deadline := time.Now().Add(5 * time.Second)
	for len(list().Issuers[0].JWKS.Keys) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the running service did not pick up the new key")
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := list()
	if after.Version <= before.Version || trust.Replace(before, after) != nil {
		t.Fatalf("versions %d then %d", before.Version, after.Version)
	}
	// The new key signs: the status list's kid is the new one.
	tok := mustCall(t, 200, "GET", after.Issuers[0].StatusLists[0], "", nil, nil)
	h, _ := jwsHeader(string(tok))
	if !strings.Contains(rot, h) || h == before.Issuers[0].JWKS.Keys[0].Kid {
		t.Fatalf("status list signed by %q after rotation (%s)", h, rot)
	}
	cancel()
	<-done
	// After restart the ring comes back from the directory in the same order.
	ring, err := keys.LoadRingDir(filepath.Join(dir, "keys", "zj"), time.Now(), keyRetention)
	if err != nil || len(ring.JWKS().Keys) != 2 {
		t.Fatalf("ring %v %v", ring, err)
	}
	// Long after the retention period, the old key is dropped.
	ring, _ = keys.LoadRingDir(filepath.Join(dir, "keys", "zj"), time.Now().Add(keyRetention+time.Hour), keyRetention)
	if len(ring.JWKS().Keys) != 1 {
		t.Fatalf("old key kept past its retention: %d keys", len(ring.JWKS().Keys))
	}
}

func jwsHeader(tok string) (string, error) {
	h, err := jwsParseHeader(tok)
	return h, err
}

// TestSeveralAuthorities hosts the province's example authorities: each
// application goes to its city's bureau, and the trust list names them all.
func TestSeveralAuthorities(t *testing.T) {
	s := startService(t, t.TempDir(), "--authorities", "../../examples/service/authorities-zhejiang.json")
	var hz server.ApplicationResponse
	mustCall(t, 201, "POST", s.base+"/v1/applications", "", application(t, 1), &hz)
	data, err := os.ReadFile("../../examples/application-minor-guardian.json")
	if err != nil {
		t.Fatal(err)
	}
	var minor map[string]any
	json.Unmarshal(data, &minor)
	delete(minor, "photo_sha256")
	var nb server.ApplicationResponse
	mustCall(t, 201, "POST", s.base+"/v1/applications", "", map[string]any{"application": minor}, &nb)
	if hz.Authority != s.base+"/hz" || nb.Authority != s.base+"/nb" {
		t.Fatalf("routed to %s and %s", hz.Authority, nb.Authority)
	}
	l, err := trust.Verify(string(mustCall(t, 200, "GET", s.base+"/trust-list", "", nil, nil)), s.root)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Issuers) != 4 || l.Issuers[3].ID != s.base+"/wz" || len(l.Issuers[3].StatusLists) != 1 {
		t.Fatalf("trust list issuers %+v", l.Issuers)
	}
	var p server.PermitResponse
	mustCall(t, 201, "POST", s.base+"/v1/applications/"+nb.ID+"/approve", s.token, nil, &p)
	if p.Issuer != s.base+"/nb" || p.Authority != "nb" || p.Offer == nil {
		t.Fatalf("permit %+v", p)
	}
}

// TestTLS serves HTTPS when given a certificate and key.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	s := startService(t, filepath.Join(dir, "var"), "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(s.base, "https://") {
		t.Fatalf("base %q", s.base)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(s.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("healthz over TLS: %d", resp.StatusCode)
	}
}

// TestAppsExport writes the browser apps as static files with this data
// directory's root key pin.
func TestAppsExport(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "site")
	// A data directory as permitd leaves it.
	if _, _, err := keys.LoadOrCreate(filepath.Join(dir, "var", "keys"), "root"); err != nil {
		t.Fatal(err)
	}
	code, stdout, errs := runCmd("apps", "export", "--data", filepath.Join(dir, "var"), "--out", out, "--base-url", "https://ep.example/")
	if !(&web.Handler{}).Built() && code == 1 && strings.Contains(errs, "make wasm") {
		t.Skip("the WebAssembly module is not built (make wasm)")
	}
	if code != 0 || !strings.Contains(stdout, "files written") {
		t.Fatalf("apps export: %d %s %s", code, stdout, errs)
	}
	conf, err := os.ReadFile(filepath.Join(out, "verify", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := keys.LoadOrCreate(filepath.Join(dir, "var", "keys"), "root")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), keys.Thumbprint(root.Public().(ed25519.PublicKey))) || !strings.Contains(string(conf), `"https://ep.example"`) {
		t.Fatalf("config.json %s", conf)
	}
	for _, f := range []string{"verify/index.html", "wallet/index.html", "app/epermit.wasm", "app/wasm_exec.js"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if code, _, _ := runCmd("apps", "export", "--out", out); code != 2 {
		t.Errorf("apps export without --base-url: %d", code)
	}
}

// TestAuditVerifyDetectsRollback: an auditor keeps the latest signed
// checkpoint with --state; a store later put back to an earlier copy (its
// log and checkpoints consistent with each other) is then refused. The pin
// is the audit key's thumbprint alone.
func TestAuditVerifyDetectsRollback(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	approved(t, s, 1)
	s.stop()
	pin := auditPinRE.FindStringSubmatch(s.out.String())
	if pin == nil {
		t.Fatalf("permitd did not print the audit key: %s", s.out)
	}
	old := filepath.Join(t.TempDir(), "old.db")
	data, err := os.ReadFile(filepath.Join(dir, "permitd.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, data, 0o600); err != nil {
		t.Fatal(err)
	}
	token := s.token
	s = startService(t, dir, "--addr", strings.TrimPrefix(s.base, "http://"))
	s.token = token
	approved(t, s, 2)
	s.stop()
	state := filepath.Join(t.TempDir(), "checkpoint.json")
	if code, out, errs := runCmd("audit", "verify", "--data", dir, "--pin", pin[1], "--state", state); code != 0 || !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify: %d %s %s", code, out, errs)
	}
	if code, _, errs := runCmd("audit", "verify", "--data", dir, "--pin", "AAAA"+pin[1][4:]); code != 1 || !strings.Contains(errs, "bad_checkpoint") {
		t.Fatalf("audit verify with another pin: %d %s", code, errs)
	}
	// The whole store goes back to the earlier copy.
	if err := os.WriteFile(filepath.Join(dir, "permitd.db"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCmd("audit", "verify", "--data", dir, "--pin", pin[1]); code != 0 {
		t.Fatalf("without the saved checkpoint the old copy is consistent: %d %s", code, errs)
	}
	if code, _, errs := runCmd("audit", "verify", "--data", dir, "--pin", pin[1], "--state", state); code != 1 || !strings.Contains(errs, "rolled_back") {
		t.Fatalf("audit verify of a rolled-back store: %d %s", code, errs)
	}
}

// TestStoreCompact rewrites the store without its free pages; the records
// and the audit log are intact afterwards.
func TestStoreCompact(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	for n := range 5 {
		approved(t, s, n)
	}
	s.stop()
	if code, out, errs := runCmd("store", "compact", "--data", dir); code != 0 || !strings.Contains(out, "compacted") {
		t.Fatalf("store compact: %d %s %s", code, out, errs)
	}
	if code, out, errs := runCmd("audit", "verify", "--data", dir); code != 0 || !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify after compaction: %d %s %s", code, out, errs)
	}
	token := s.token
	s = startService(t, dir)
	s.token = token
	var rec server.PermitResponse
	p := approved(t, s, 9)
	mustCall(t, 200, "GET", s.base+"/v1/permits/"+p.Number, s.token, nil, &rec)
	s.stop()
}

var auditPinRE = regexp.MustCompile(`audit key\s+(\S+)`)
