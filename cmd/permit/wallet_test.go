package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWalletAdd(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// A second wallet, on another phone, and a credential bound to it.
	other := filepath.Join(f.dir, "other-wallet")
	must(t, t0, "wallet", "init", "--dir", other)
	otherCred := filepath.Join(f.dir, "other.sd-jwt")
	must(t, t0, "issue", "--app", adultApp, "--holder", filepath.Join(other, "device.jwk.json"), "--key", f.issuerKey,
		"--iss", testIss, "--status-uri", testStatus, "--idx", "5", "--out", otherCred)
	garbage := filepath.Join(f.dir, "garbage.txt")
	if err := os.WriteFile(garbage, []byte("not a credential\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		args       []string // after wallet add --dir DIR
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"with issuer JWKS", []string{"--jwks", f.issuerSet, f.credential}, 0, "stored permit 33010626", ""},
		{"issuer key file as JWKS", []string{"--jwks", f.issuerKey, f.credential}, 0, "stored permit 33010626", ""},
		{"without JWKS warns", []string{f.credential}, 0, "stored permit 33010626", "the issuer signature was not checked"},
		{"another wallet's credential", []string{"--jwks", f.issuerSet, otherCred}, 1, "", "bound to another device key"},
		{"another wallet's credential, no JWKS", []string{otherCred}, 1, "", "bound to another device key"},
		{"wrong issuer keys", []string{"--jwks", f.rootSet, f.credential}, 1, "", "issuer signature does not verify"},
		{"not a credential", []string{"--jwks", f.issuerSet, garbage}, 1, "", "invalid credential"},
		{"no such file", []string{"--jwks", f.issuerSet, filepath.Join(f.dir, "missing")}, 1, "", "no such file"},
		{"no file", []string{"--jwks", f.issuerSet}, 2, "", "one credential file"},
		{"two files", []string{"--jwks", f.issuerSet, f.credential, f.credential}, 2, "", "one credential file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A fresh, empty wallet holding the fixture wallet's device key.
			dir := filepath.Join(t.TempDir(), "wallet")
			must(t, t0, "wallet", "init", "--dir", dir)
			copyDeviceKey(t, f.wallet, dir)
			o := cli(t0, "", append([]string{"wallet", "add", "--dir", dir}, tt.args...)...)
			if o.code != tt.wantCode || !strings.Contains(o.stdout, tt.wantStdout) || !strings.Contains(o.stderr, tt.wantStderr) {
				t.Fatalf("want exit %d, stdout ~ %q, stderr ~ %q; got %v", tt.wantCode, tt.wantStdout, tt.wantStderr, o)
			}
			if tt.wantCode != 0 {
				if o := must(t, t0, "wallet", "list", "--dir", dir); !strings.Contains(o.stdout, "no permits yet") {
					t.Errorf("refused add left a permit in the wallet: %v", o)
				}
			}
		})
	}
}

// copyDeviceKey makes wallet dst hold the same device key as wallet src.
func copyDeviceKey(t *testing.T, src, dst string) {
	t.Helper()
	for _, name := range []string{"device.key", "device.jwk.json"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// listed is one permit as wallet list prints it: the header's fields and
// the indented lines under it.
type listed struct {
	fields []string
	lines  string
}

// parseList reads wallet list's stdout.
func parseList(t *testing.T, stdout string) []listed {
	t.Helper()
	var out []listed
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if strings.HasPrefix(l, "  ") && len(out) > 0 {
			out[len(out)-1].lines += strings.TrimPrefix(l, "  ") + "\n"
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != 6 {
			t.Fatalf("header %q: want 6 tab-separated fields, in\n%s", l, stdout)
		}
		out = append(out, listed{fields: f})
	}
	return out
}

func TestWalletList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	empty := filepath.Join(f.dir, "empty")
	must(t, t0, "wallet", "init", "--dir", empty)
	tests := []struct {
		name string
		now  time.Time
		word string
		want []string // in the lines under the header
	}{
		{"just issued", t0, "VALID", []string{"年度签注期自 2027-10-27 开始（还有 334 天），2027-11-27 前办理。", "The endorsement window opens on 2027-10-27 (in 334 days); endorse before 2027-11-27."}},
		{"half a year on", t0.AddDate(0, 6, 0), "VALID", []string{"还有 153 天", "in 153 days"}},
		{"day before the window", time.Date(2027, 10, 26, 23, 59, 0, 0, t0.Location()), "VALID", []string{"还有 1 天", "(in 1 day)"}},
		{"340 days on: endorsement window", t0.AddDate(0, 0, 340), "ENDORSEMENT-DUE", []string{"请在 2027-11-27 前到签发机关窗口办理签注（还有 25 天）", "before 2027-11-27 (25 days left)", "permit wallet refresh"}},
		{"last minute", time.Date(2027, 11, 26, 23, 59, 0, 0, t0.Location()), "ENDORSEMENT-DUE", []string{"（还有 1 天）", "(1 day left)"}},
		{"due date", time.Date(2027, 11, 27, 0, 0, 0, 0, t0.Location()), "OVERDUE", []string{"年度签注已于 2027-11-27 到期，居住证暂停使用，办理逾期签注后恢复", "the permit is suspended until a late endorsement restores it (Art. 10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := must(t, tt.now, "wallet", "list", "--dir", f.wallet)
			got := parseList(t, o.stdout)
			if len(got) != 1 {
				t.Fatalf("%d permits listed:\n%s", len(got), o.stdout)
			}
			want := []string{f.permitNo, "李明", "110105********0517", "浙江省杭州市西湖区", "valid until 2027-11-27", tt.word}
			if strings.Join(got[0].fields, "|") != strings.Join(want, "|") {
				t.Errorf("header %q, want %q", got[0].fields, want)
			}
			for _, s := range append(tt.want, "居住地：浙江省杭州市西湖区", "Residence: Xihu District, Hangzhou, Zhejiang") {
				if !strings.Contains(got[0].lines, s) {
					t.Errorf("the lines lack %q:\n%s", s, got[0].lines)
				}
			}
			// Not VALID: a warning on stderr too, in both languages.
			if (tt.word != "VALID") != strings.Contains(o.stderr, "permit: warning: permit "+f.permitNo) || (tt.word != "VALID") != strings.Contains(o.stderr, "警告") {
				t.Errorf("stderr %q for %s", o.stderr, tt.word)
			}
		})
	}
	o := must(t, t0, "wallet", "list", "--dir", empty)
	if o.stdout != "钱包中还没有居住证：用 \"permit wallet accept\" 领取\nno permits yet: receive one with \"permit wallet accept\"\n" {
		t.Errorf("empty wallet: %q", o.stdout)
	}
}

func TestWalletShow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		purpose    string
		wantCode   int
		wantStderr []string
		// disclosed: the verified claim that only some purposes reveal.
		wantCitizenID, wantAddress bool
	}{
		{purpose: "residence-proof"},
		{purpose: "public-service", wantAddress: true},
		{purpose: "convenience", wantCitizenID: true},
		{purpose: "police-check", wantCitizenID: true},
		{purpose: "credit-loan", wantCode: 1, wantStderr: []string{"居住证不能用于办理信用贷款\n", "a residence permit cannot be used for credit loans\n"}},
		{purpose: "identity-card", wantCode: 1, wantStderr: []string{"居住证不是身份证，不能代替身份证使用\n", "a residence permit is not an identity card\n"}},
		{purpose: "tax-refund", wantCode: 1, wantStderr: []string{`unknown purpose: "tax-refund"`}},
	}
	for _, tt := range tests {
		t.Run(tt.purpose, func(t *testing.T) {
			t.Parallel()
			o := cli(t0, "", "wallet", "show", "--dir", f.wallet, "--purpose", tt.purpose)
			if o.code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %v", o.code, tt.wantCode, o)
			}
			for _, s := range tt.wantStderr {
				if !strings.Contains(o.stderr, s) {
					t.Errorf("stderr lacks %q: %v", s, o)
				}
			}
			if tt.wantCode != 0 {
				if o.stdout != "" {
					t.Errorf("refused show printed a presentation: %q", o.stdout)
				}
				return
			}
			text := strings.TrimSpace(o.stdout)
			if !strings.Contains(text, "~") || strings.HasSuffix(text, "~") || strings.ContainsAny(text, " \n") {
				t.Fatalf("not a one-line SD-JWT+KB presentation: %.100q", text)
			}
			v := cli(t0, "", f.verifyArgs(tt.purpose, "--json", text)...)
			if v.code != 0 {
				t.Fatalf("verify --purpose %s of its own presentation: %v", tt.purpose, v)
			}
			r := decodeVerdicts(t, v.stdout)[0]
			_, hasID := r.Claims["citizen_id"]
			_, hasAddr := r.Claims["residence_address"]
			if hasID != tt.wantCitizenID || hasAddr != tt.wantAddress {
				t.Errorf("disclosed citizen_id=%t residence_address=%t, want %t %t: %v", hasID, hasAddr, tt.wantCitizenID, tt.wantAddress, r.Claims)
			}
		})
	}
}

func TestWalletShowQR(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		args []string
	}{
		{"byte mode", nil},
		{"packed", []string{"--packed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			png := filepath.Join(t.TempDir(), "code.png")
			o := must(t, t0, append([]string{"wallet", "show", "--dir", f.wallet, "--qr", png}, tt.args...)...)
			if !strings.HasPrefix(o.stdout, png+"\t") || !strings.Contains(o.stdout, "QR version ") {
				t.Errorf("stdout %q does not name the PNG and its version", o.stdout)
			}
			raw, err := os.ReadFile(png)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(raw, []byte("\x89PNG\r\n\x1a\n")) {
				t.Fatalf("%s is not a PNG: %.16q", png, raw)
			}
			v := cli(t0.Add(20*time.Second), "", f.verifyArgs("residence-proof", "--qr", png)...)
			if v.code != 0 || !strings.Contains(v.stdout, "VALID 有效") || !strings.Contains(v.stdout, "permit "+f.permitNo) {
				t.Fatalf("verify --qr: %v", v)
			}
			// The same scan for a credit loan is refused, with the reason.
			v = cli(t0.Add(20*time.Second), "", f.verifyArgs("credit-loan", "--qr", png)...)
			if v.code != 1 || !strings.Contains(v.stdout, "a residence permit cannot be used for credit loans") {
				t.Fatalf("verify --qr --purpose credit-loan: %v", v)
			}
		})
	}
	t.Run("not an image", func(t *testing.T) {
		t.Parallel()
		v := cli(t0, "", f.verifyArgs("residence-proof", "--qr", f.credential)...)
		if v.code != 1 || v.stdout != "" || v.stderr == "" {
			t.Fatalf("verify --qr of a text file: %v", v)
		}
	})
}
