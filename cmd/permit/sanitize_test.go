package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/wallet"
)

func TestSanitize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"李明 Li Ming", "李明 Li Ming"},
		{"", ""},
		{"a\x1b[2Jb", `a\u001b[2Jb`},
		{"\x1b]0;title\x07", `\u001b]0;title\u0007`},
		{"tab\tnew\nline\rcr", `tab\u0009new\u000aline\u000dcr`},
		{"del\x7f", `del\u007f`},
		{"c1 \u009b31m \u0085", `c1 \u009b31m \u0085`},
		{"李明\u202e\u2066x\u2069", `李明\u202e\u2066x\u2069`},
		{"zero\u200bwidth\u200d\ufeff", `zero\u200bwidth\u200d\ufeff`},
		{"line\u2028para\u2029", `line\u2028para\u2029`},
		{"tag\U000E0041", `tag\udb40\udc41`},
		{"bad\xffutf8", "bad\ufffdutf8"},
		{`already \u001b escaped`, `already \u001b escaped`},
	} {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// On JSON, sanitize keeps the document valid and its meaning unchanged.
	v := map[string]string{"name": "李\x1b[31m明\u202e\u009b\u2028\U000E0041 \\u202e \"q\""}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	safe := sanitize(string(b))
	var back map[string]string
	if err := json.Unmarshal([]byte(safe), &back); err != nil || back["name"] != v["name"] {
		t.Errorf("sanitized JSON %s decodes to %q, %v", safe, back["name"], err)
	}
	if strings.IndexFunc(safe, unsafeRune) >= 0 {
		t.Errorf("sanitized JSON still holds unsafe characters: %q", safe)
	}
}

// hostileName is what a hostile issuer puts in a credential: an OSC that
// sets the terminal's title, the bell, a screen clear, a C1 CSI, and a
// right-to-left override that would make the rest read backwards.
const hostileName = "李明\x1b]0;owned\x07\x1b[2J\u009b31m\u202eVALID\u2066"

// TestIssuerTextIsSanitized: a credential from a hostile issuer, its name
// full of escape sequences and bidirectional overrides, reaches the
// terminal only as visible escapes, whatever command shows it.
func TestIssuerTextIsSanitized(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	key, err := keys.LoadPrivateKeyFile(f.issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	device, err := keys.LoadPrivateKeyFile(filepath.Join(f.wallet, "device.key"))
	if err != nil {
		t.Fatal(err)
	}
	issued, err := credential.Issue(key, keys.Thumbprint(key.Public().(ed25519.PublicKey)), credential.Claims{
		Issuer: testIss, IssuedAt: t0, Expires: t0.AddDate(1, 0, 0), Status: statuslist.Reference{Idx: 5, URI: testStatus},
		Holder: device.Public().(ed25519.PublicKey), Name: hostileName, MaskedID: "110105********0517\x07",
		Region: "330106", PermitNo: "33010626HOSTL3",
	}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	credFile := filepath.Join(f.dir, "hostile.sd-jwt")
	if err := os.WriteFile(credFile, []byte(issued+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The code shown, made without the wallet directory: it may refuse
	// such a credential, the verifier sees it anyway.
	shown, err := wallet.PresentCredential(issued, device, wallet.Request{Now: t0})
	if err != nil {
		t.Fatal(err)
	}

	var outputs []outcome
	check := func(what string, o outcome) {
		t.Helper()
		outputs = append(outputs, o)
		for _, s := range []string{o.stdout, o.stderr} {
			if i := strings.IndexFunc(s, func(r rune) bool { return unsafeRune(r) && r != '\n' && r != '\t' }); i >= 0 {
				t.Errorf("%s prints %q raw: %q", what, []rune(s[i:])[0], s)
			}
		}
	}
	check("wallet add", cli(t0, "", "wallet", "add", "--dir", f.wallet, "--jwks", f.issuerSet, credFile))
	check("wallet list", cli(t0, "", "wallet", "list", "--dir", f.wallet))
	check("verify", cli(t0, "", f.verifyArgs("residence-proof", shown)...))
	check("verify --json", cli(t0, "", f.verifyArgs("residence-proof", "--json", shown)...))
	check("verify --stdin", cli(t0, shown+"\n", f.verifyArgs("residence-proof", "--stdin", "--text")...))
	check("verify --stdin (JSON lines)", cli(t0, shown+"\n", f.verifyArgs("residence-proof", "--stdin")...))

	// The verdict shows the name, escaped, and the JSON verdict holds it exactly.
	if v := outputs[2]; v.code != 0 || !strings.Contains(v.stdout, `VALID 有效 李明\u001b]0;owned\u0007\u001b[2J\u009b31m\u202eVALID\u2066 110105********0517\u0007`) {
		t.Errorf("verify: %v", v)
	}
	var verdict struct {
		Claims struct {
			Name string `json:"name"`
		} `json:"claims"`
	}
	if err := json.Unmarshal([]byte(outputs[3].stdout), &verdict); err != nil || verdict.Claims.Name != hostileName {
		t.Errorf("verify --json: name %q, %v: %s", verdict.Claims.Name, err, outputs[3].stdout)
	}
	if o := outputs[1]; o.code == 0 && !strings.Contains(o.stdout, `33010626HOSTL3	李明\u001b]0;owned`) {
		t.Errorf("wallet list: %v", o)
	}
}

// TestErrorsAreSanitized: an error quoting what a file or server said is
// printed through sanitize too.
func TestErrorsAreSanitized(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "app\x1b[2J.json")
	o := cli(time.Now(), "", "issue", "--app", bad, "--holder", "x", "--key", "x", "--iss", "x", "--status-uri", "x", "--idx", "1")
	if o.code != 1 || strings.ContainsRune(o.stderr, '\x1b') || !strings.Contains(o.stderr, `app\u001b[2J.json`) {
		t.Errorf("%v", o)
	}
	if strings.IndexFunc(o.stderr, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) >= 0 {
		t.Errorf("control characters on stderr: %q", o.stderr)
	}
}
