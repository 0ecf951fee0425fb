package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/permit"
)

// The tests drive run in-process, as a user drives the binary: every file
// lives in t.TempDir() and every command gets the same fixed clock unless a
// case moves it.

const (
	testIss    = "https://ep.zjga.example/hz"
	testStatus = testIss + "/status/1"
	testIdx    = "77"
	adultApp   = "../../examples/application-adult-hangzhou.json"
)

// t0 is the day the examples are decided on (examples/README.md): the
// permit is issued then and expires, endorsement due, a year later.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, permit.ChinaTime())

type outcome struct {
	code           int
	stdout, stderr string
}

func (o outcome) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s\n--- stderr:\n%s", o.code, o.stdout, o.stderr)
}

// cli runs the command line args with the clock at now and stdin as input.
func cli(now time.Time, stdin string, args ...string) outcome {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb, func() time.Time { return now })
	return outcome{code, out.String(), errb.String()}
}

// must runs args at now and fails the test unless it exits 0.
func must(t testing.TB, now time.Time, args ...string) outcome {
	t.Helper()
	o := cli(now, "", args...)
	if o.code != 0 {
		t.Fatalf("permit %s: %v", strings.Join(args, " "), o)
	}
	return o
}

// synced sets the modification time of a fetched file (trust list, status
// list) to when the verifier synced it: the CLI takes that as its age.
func synced(t testing.TB, at time.Time, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
}

// fixture is the offline setup: an issuer and a root key, a status list, a
// trust list with its pin, a wallet holding an issued permit.
type fixture struct {
	dir                  string
	issuerKey, issuerSet string // issuer.key, issuer.jwks.json
	rootKey, rootSet     string
	status, trust, pin   string
	wallet, holder       string // wallet dir, its device.jwk.json
	credential           string // the issued SD-JWT file
	permitNo             string
}

var pinLine = regexp.MustCompile(`(?m)^root thumbprint \(pin this in verifiers\): ([A-Za-z0-9_-]{43})$`)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	d := t.TempDir()
	f := &fixture{
		dir:       d,
		issuerKey: filepath.Join(d, "keys", "issuer.key"), issuerSet: filepath.Join(d, "keys", "issuer.jwks.json"),
		rootKey: filepath.Join(d, "keys", "root.key"), rootSet: filepath.Join(d, "keys", "root.jwks.json"),
		status: filepath.Join(d, "status.jwt"), trust: filepath.Join(d, "trust.jwt"),
		wallet: filepath.Join(d, "wallet"), holder: filepath.Join(d, "wallet", "device.jwk.json"),
		credential: filepath.Join(d, "credential.sd-jwt"),
	}
	o := must(t, t0, "keys", "new", "--out", filepath.Join(d, "keys"))
	if !strings.Contains(o.stdout, f.issuerKey) || !strings.Contains(o.stdout, "kid\t") {
		t.Fatalf("keys new: stdout names no key file or kid: %v", o)
	}
	must(t, t0, "keys", "new", "--out", filepath.Join(d, "keys"), "--name", "root")
	for _, p := range []string{f.issuerKey, f.rootKey} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("keys new wrote %s with mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	o = must(t, t0, "wallet", "init", "--dir", f.wallet)
	if !strings.Contains(o.stdout, f.holder) {
		t.Fatalf("wallet init: stdout does not name %s: %v", f.holder, o)
	}
	must(t, t0, "status", "new", "--uri", testStatus, "--key", f.issuerKey, "--out", f.status, "--size", "1024")
	o = must(t, t0, "trust", "sign", "--root", f.rootKey, "--issuer-key", f.issuerSet, "--iss", testIss,
		"--status-uri", testStatus, "--out", f.trust)
	m := pinLine.FindStringSubmatch(o.stdout)
	if m == nil {
		t.Fatalf("trust sign: no pin on stdout: %v", o)
	}
	f.pin = m[1]
	must(t, t0, "issue", "--app", adultApp, "--holder", f.holder, "--key", f.issuerKey, "--iss", testIss,
		"--status-uri", testStatus, "--idx", testIdx, "--out", f.credential)
	o = must(t, t0, "wallet", "add", "--dir", f.wallet, "--jwks", f.issuerSet, f.credential)
	m = regexp.MustCompile(`^stored permit (\S+) \(李明, `).FindStringSubmatch(o.stdout)
	if m == nil {
		t.Fatalf("wallet add: unexpected stdout: %v", o)
	}
	f.permitNo = m[1]
	synced(t, t0, f.status, f.trust)
	return f
}

// show makes a presentation at now for purpose.
func (f *fixture) show(t testing.TB, now time.Time, purpose string) string {
	t.Helper()
	o := must(t, now, "wallet", "show", "--dir", f.wallet, "--purpose", purpose)
	return strings.TrimSpace(o.stdout)
}

// verifyArgs are the arguments of a verification against the trust list,
// its pin and the status list, for purpose.
func (f *fixture) verifyArgs(purpose string, extra ...string) []string {
	return append([]string{"verify", "--trust", f.trust, "--pin", f.pin, "--status", f.status, "--purpose", purpose}, extra...)
}

// copyFile copies src to a new file in dir and returns its path.
func copyFile(t *testing.T, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}
