package wallet

import (
	"errors"
	"github.com/epermit/epermit/permit"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
)

func TestAdd(t *testing.T) {
	t.Parallel()
	w := newTestWallet(t)
	good := issueTo(t, w.Public(), testPermit)
	otherJWKS := &keys.JWKS{Keys: []keys.JWK{keys.PublicJWK(pub(otherKey))}}

	withKB := func() string {
		p, err := sdjwt.Split(good)
		if err != nil {
			t.Fatal(err)
		}
		p, err = sdjwt.Bind(p, w.Signer(), "aud", "nonce", t0)
		if err != nil {
			t.Fatal(err)
		}
		return p.String()
	}()
	// A disclosure of another credential: well formed, but no digest of
	// this one references it.
	foreign := func() string {
		p, err := sdjwt.Split(issueTo(t, w.Public(), testPermit))
		if err != nil {
			t.Fatal(err)
		}
		return p.Disclosures[0]
	}()

	tests := []struct {
		name    string
		issued  string
		keys    *keys.JWKS
		wantErr []error // all must match; nil for success
	}{
		{name: "good, verified", issued: good, keys: issuerJWKS()},
		{name: "good, unverified", issued: good},
		{name: "good, trailing newline", issued: good + "\n", keys: issuerJWKS()},
		{name: "another holder", issued: issueTo(t, pub(otherKey), testPermit), keys: issuerJWKS(), wantErr: []error{ErrNotMyKey}},
		{name: "another holder, unverified", issued: issueTo(t, pub(otherKey), testPermit), wantErr: []error{ErrNotMyKey}},
		{name: "forged signature", keys: issuerJWKS(),
			issued:  issueWith(t, otherKey, claimsFor(w.Public(), testPermit, t0.Add(-time.Hour), t0.Add(time.Hour))),
			wantErr: []error{ErrIssuerSignature, jws.ErrSignature}},
		{name: "issuer key not in set", issued: good, keys: otherJWKS, wantErr: []error{ErrIssuerSignature, jws.ErrUnknownKey}},
		{name: "tampered payload", keys: issuerJWKS(), issued: tamper(t, good), wantErr: []error{ErrIssuerSignature}},
		{name: "carries a KB-JWT", issued: withKB, keys: issuerJWKS(), wantErr: []error{ErrInvalidCredential}},
		{name: "unreferenced disclosure", issued: good + foreign + "~", keys: issuerJWKS(), wantErr: []error{ErrInvalidCredential, sdjwt.ErrDigestNotFound}},
		{name: "malformed disclosure", issued: good + "bm90IGpzb24~", keys: issuerJWKS(), wantErr: []error{ErrInvalidCredential}},
		{name: "disclosure twice", issued: good + strings.Split(good, "~")[1] + "~", keys: issuerJWKS(), wantErr: []error{ErrInvalidCredential}},
		{name: "not an SD-JWT", issued: "hello", wantErr: []error{ErrInvalidCredential}},
		{name: "unsafe permit number", keys: issuerJWKS(),
			issued:  issueWith(t, issuerKey, claimsFor(w.Public(), "../../device", t0.Add(-time.Hour), t0.Add(time.Hour))),
			wantErr: []error{ErrInvalidCredential}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := Open(w.Dir())
			if err != nil {
				t.Fatal(err)
			}
			e, err := w.Add(tt.issued, tt.keys)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if e.PermitNo != testPermit || e.Name != "张三" || e.MaskedID != "110105********002X" ||
					e.Region != "330106" || e.Issuer != testIss || !e.IssuedAt.Equal(t0.Add(-24*time.Hour)) ||
					!e.Expires.Equal(t0.Add(300*24*time.Hour)) {
					t.Fatalf("entry %+v", e)
				}
				return
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Fatalf("Add: %v, want %v", err, want)
				}
			}
		})
	}
	t.Cleanup(func() {
		// Only the good credential may have been stored, once.
		names := credFiles(t, w)
		if !slices.Equal(names, []string{credName(testIss, testPermit)}) {
			t.Errorf("credentials dir holds %v", names)
		}
		_, issued, err := w.Get(testPermit)
		if err != nil || issued != good {
			t.Errorf("stored credential differs from the issued one (%v)", err)
		}
		if fi, err := os.Stat(filepath.Join(w.Dir(), "credentials", credName(testIss, testPermit))); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("stored file: %v, %v", fi.Mode(), err)
		}
	})
}

// tamper changes the name in the issuer JWT's payload, keeping the
// signature.
func tamper(t *testing.T, issued string) string {
	t.Helper()
	parts := strings.SplitN(issued, ".", 3)
	raw, err := decodeSeg(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(raw), "张三", "李四", 1)
	if changed == string(raw) {
		t.Fatal("tamper changed nothing")
	}
	return parts[0] + "." + encodeSeg([]byte(changed)) + "." + parts[2]
}

// credName is the file name of a stored credential.
func credName(iss, permitNo string) string { return permitNo + "." + issuerTag(iss) + ".sd-jwt" }

func credFiles(t testing.TB, w *Wallet) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(w.Dir(), "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestAddReplacesOnReissue(t *testing.T) {
	t.Parallel()
	w := newTestWallet(t)
	first := issueTo(t, w.Public(), testPermit)
	// The endorsement a year on re-issues the permit under the same number.
	endorsed := issueWith(t, issuerKey, claimsFor(w.Public(), testPermit, t0.Add(290*24*time.Hour), t0.Add(665*24*time.Hour)))

	steps := []struct {
		name        string
		issued      string
		wantErr     error
		wantExpires time.Time // of the credential held afterwards
		wantIssued  string
	}{
		{"first issue", first, nil, t0.Add(300 * 24 * time.Hour), first},
		{"same again", first, nil, t0.Add(300 * 24 * time.Hour), first},
		{"endorsed re-issue", endorsed, nil, t0.Add(665 * 24 * time.Hour), endorsed},
		{"older one refused", first, ErrSuperseded, t0.Add(665 * 24 * time.Hour), endorsed},
	}
	for _, s := range steps { // sequential: each step depends on the last
		if _, err := w.Add(s.issued, issuerJWKS()); !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: Add: %v, want %v", s.name, err, s.wantErr)
		}
		list, err := w.List()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || !list[0].Expires.Equal(s.wantExpires) {
			t.Fatalf("%s: list %+v", s.name, list)
		}
		if _, issued, err := w.Get(testPermit); err != nil || issued != s.wantIssued {
			t.Fatalf("%s: Get returned another credential (%v)", s.name, err)
		}
	}
	if names := credFiles(t, w); len(names) != 1 {
		t.Fatalf("temporary files left behind: %v", names)
	}
}

func TestListGet(t *testing.T) {
	t.Parallel()
	w := newTestWallet(t)
	if _, _, err := w.Get(""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(\"\") on an empty wallet: %v", err)
	}
	if _, err := w.Add(issueTo(t, w.Public(), testPermit), issuerJWKS()); err != nil {
		t.Fatal(err)
	}
	if e, _, err := w.Get(""); err != nil || e.PermitNo != testPermit {
		t.Fatalf("Get(\"\") with one credential: %+v, %v", e, err)
	}
	if _, err := w.Add(issueTo(t, w.Public(), testPermit2), issuerJWKS()); err != nil {
		t.Fatal(err)
	}
	list, err := w.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].PermitNo != testPermit2 || list[1].PermitNo != testPermit {
		t.Fatalf("List not sorted by permit number: %+v", list)
	}

	tests := []struct {
		permitNo string
		wantErr  error
	}{
		{testPermit, nil},
		{testPermit2, nil},
		{"", ErrAmbiguous},
		{"33010626ZZZZZZ", ErrNotFound},
		{"../device", ErrNotFound},
		{"device.key", ErrNotFound},
	}
	for _, tt := range tests {
		e, issued, err := w.Get(tt.permitNo)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("Get(%q): %v, want %v", tt.permitNo, err, tt.wantErr)
			continue
		}
		if err == nil && (e.PermitNo != tt.permitNo || !strings.HasSuffix(issued, "~")) {
			t.Errorf("Get(%q) = %+v", tt.permitNo, e)
		}
	}
}

func TestListDamagedStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		damage  func(w *Wallet, dir string) error
		wantErr error
	}{
		{"garbage file", func(w *Wallet, dir string) error {
			return os.WriteFile(filepath.Join(dir, credName(testIss, "33010626AAAAAA")), []byte("garbage"), 0o600)
		}, ErrInvalidCredential},
		{"file under another permit's name", func(w *Wallet, dir string) error {
			return os.WriteFile(filepath.Join(dir, credName(testIss, "33010626AAAAAA")), []byte(issueTo(t, w.Public(), testPermit)), 0o600)
		}, ErrInvalidCredential},
		{"file under another issuer's name", func(w *Wallet, dir string) error {
			return os.WriteFile(filepath.Join(dir, credName("https://phish.example", testPermit)), []byte(issueTo(t, w.Public(), testPermit)), 0o600)
		}, ErrInvalidCredential},
		{"another device's credential", func(w *Wallet, dir string) error {
			return os.WriteFile(filepath.Join(dir, credName(testIss, testPermit)), []byte(issueTo(t, pub(otherKey), testPermit)), 0o600)
		}, ErrNotMyKey},
		{"temporary and foreign files are ignored", func(w *Wallet, dir string) error {
			if err := os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte("partial"), 0o600); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newTestWallet(t)
			if err := tt.damage(w, filepath.Join(w.Dir(), "credentials")); err != nil {
				t.Fatal(err)
			}
			_, err := w.List()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("List: %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), filepath.Join(w.Dir(), "credentials")) {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestEntryDates(t *testing.T) {
	t.Parallel()
	// Credentials expire at midnight China time (issuer.Claims).
	due := time.Date(2027, 9, 24, 0, 0, 0, 0, permit.ChinaTime())
	e := Entry{Expires: due}
	tests := []struct {
		name          string
		now           time.Time
		days          int
		window, overd bool
	}{
		{"a year before", due.AddDate(-1, 0, 0), 365, false, false},
		{"just before the window", due.AddDate(0, -1, 0).Add(-time.Second), 32, false, false},
		{"window opens", due.AddDate(0, -1, 0), 31, true, false},
		{"a day and an hour before", due.Add(-25 * time.Hour), 2, true, false},
		{"a day before", due.Add(-24 * time.Hour), 1, true, false},
		{"a second before", due.Add(-time.Second), 1, true, false},
		{"due now", due, 0, false, true},
		{"23 hours overdue", due.Add(23 * time.Hour), 0, false, true},
		{"3 days overdue", due.Add(72 * time.Hour), -3, false, true},
	}
	for _, tt := range tests {
		if got := e.DaysLeft(tt.now); got != tt.days {
			t.Errorf("%s: DaysLeft %d, want %d", tt.name, got, tt.days)
		}
		if got := e.InWindow(tt.now); got != tt.window {
			t.Errorf("%s: InWindow %v, want %v", tt.name, got, tt.window)
		}
		if got := e.Overdue(tt.now); got != tt.overd {
			t.Errorf("%s: Overdue %v, want %v", tt.name, got, tt.overd)
		}
	}
	// Far-off dates saturate instead of overflowing.
	far := Entry{Expires: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	if d := far.DaysLeft(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)); d <= 0 {
		t.Errorf("DaysLeft overflowed: %d", d)
	}
	if d := e.DaysLeft(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); d >= 0 {
		t.Errorf("DaysLeft overflowed: %d", d)
	}
}
