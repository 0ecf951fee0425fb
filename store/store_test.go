package store

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/statuslist"
)

// Fixtures shared by the tests of this package.

const (
	testAuthority = "hz-xihu"
	testSecret    = "app-secret-0123456789"
)

var (
	testKey   = bytes.Repeat([]byte{0x42}, 32)
	otherKey  = bytes.Repeat([]byte{0x43}, 32)
	officer   = Actor{Name: "officer-1", Role: RoleOfficer}
	revoker   = Actor{Name: "revoker-1", Role: RoleRevoker}
	admin     = Actor{Name: "admin", Role: RoleAdmin}
	resident  = Actor{Name: "resident"}
	testNow   = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	testToday = permit.DateOf(testNow, permit.ChinaTime())
)

// testOptions are small-list options: 32768 is the smallest list Open accepts.
func testOptions() Options { return Options{IndexKey: testKey, ListSize: 32768} }

// openTest opens a fresh store in a temporary directory and closes it at the end of the test.
func openTest(tb testing.TB, o Options) (*DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "store.db")
	db, err := Open(path, o)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, path
}

// loadForm parses an example application copied from examples/.
func loadForm(tb testing.TB, name string) permit.Application {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	f, err := permit.ParseApplication(data)
	if err != nil {
		tb.Fatalf("ParseApplication(%s): %v", name, err)
	}
	return f
}

func adultForm(tb testing.TB) permit.Application {
	return loadForm(tb, "application-adult-hangzhou.json")
}

// personForm returns the adult example with a distinct, valid citizen
// identity number for each n (the birth date moves by n/100 days).
func personForm(tb testing.TB, n int) permit.Application {
	tb.Helper()
	f := adultForm(tb)
	birth := f.BirthDate.AddDays(n / 100)
	first17 := fmt.Sprintf("%s%04d%02d%02d%02d1", f.CitizenID[:6], birth.Year, int(birth.Month), birth.Day, n%100)
	c, err := permit.IDCheckChar(first17)
	if err != nil {
		tb.Fatal(err)
	}
	f.BirthDate = birth
	f.CitizenID = first17 + string(c)
	return f
}

// number returns the n-th permit number of the division, deterministically.
func number(tb testing.TB, div permit.Division, n uint32) string {
	tb.Helper()
	no, err := permit.NewNumber(div, testToday.Year, bytes.NewReader(binary.BigEndian.AppendUint32(nil, n)))
	if err != nil {
		tb.Fatal(err)
	}
	return no
}

func submit(tb testing.TB, db *DB, f permit.Application) Application {
	tb.Helper()
	a, err := db.Submit(f, permit.Decide(f, testToday), testAuthority, testSecret, nil, "", resident, testNow)
	if err != nil {
		tb.Fatalf("Submit: %v", err)
	}
	return a
}

func makePermit(tb testing.TB, f permit.Application, no string) permit.Permit {
	tb.Helper()
	p, err := permit.NewPermit(f, no, "https://issuer.example/"+testAuthority, testToday)
	if err != nil {
		tb.Fatalf("NewPermit: %v", err)
	}
	return p
}

// approve approves application a with permit number n and returns the
// record and the pre-authorized code of its offer.
func approve(tb testing.TB, db *DB, a Application, f permit.Application, n uint32) (Permit, string) {
	tb.Helper()
	code := fmt.Sprintf("code-%s-%d", a.ID, n)
	rec, err := db.Approve(a.ID, makePermit(tb, f, number(tb, f.ResidenceDivision, n)), testCode(code), testNow.Add(time.Hour), officer, testNow)
	if err != nil {
		tb.Fatalf("Approve: %v", err)
	}
	return rec, code
}

// issuePermit submits and approves person n.
func issuePermit(tb testing.TB, db *DB, n int) (Permit, string) {
	tb.Helper()
	f := personForm(tb, n)
	return approve(tb, db, submit(tb, db, f), f, uint32(n))
}

func wantConflict(t *testing.T, err error, code string) {
	t.Helper()
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) {
		t.Fatalf("error = %v, want a *ConflictError %q", err, code)
	}
	if ce.Code != code {
		t.Fatalf("conflict code = %q (%s), want %q", ce.Code, ce.Reason, code)
	}
}

func auditCount(t *testing.T, db *DB) uint64 {
	t.Helper()
	n, _, err := db.VerifyAudit()
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	return n
}

// ---- Open ----

func TestOpenOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"no key", Options{ListSize: 32768}, false},
		{"31-byte key", Options{IndexKey: make([]byte, 31), ListSize: 32768}, false},
		{"32-byte key, default size", Options{IndexKey: make([]byte, 32)}, true},
		{"64-byte key", Options{IndexKey: make([]byte, 64), ListSize: 32768}, true},
		{"size 1000", Options{IndexKey: testKey, ListSize: 1000}, false},
		{"size 16384", Options{IndexKey: testKey, ListSize: 16384}, false},
		{"size 49152", Options{IndexKey: testKey, ListSize: 49152}, false},
		{"size -32768", Options{IndexKey: testKey, ListSize: -32768}, false},
		{"size 65536", Options{IndexKey: testKey, ListSize: 65536}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := Open(filepath.Join(t.TempDir(), "s.db"), tt.o)
			if tt.ok != (err == nil) {
				t.Fatalf("Open error = %v, want ok = %v", err, tt.ok)
			}
			if err == nil {
				if tt.o.ListSize != 0 && db.listSize != tt.o.ListSize || tt.o.ListSize == 0 && db.listSize != ListSize {
					t.Errorf("listSize = %d", db.listSize)
				}
				db.Close()
			} else if !strings.HasPrefix(err.Error(), "store: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestOpenOtherIndexKeyRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	o := testOptions()
	o.IndexKey = otherKey
	if db, err := Open(path, o); err == nil {
		db.Close()
		t.Fatal("Open with another index key succeeded")
	}
	// The refusal must not have changed the recorded key.
	db, err = Open(path, testOptions())
	if err != nil {
		t.Fatalf("reopen with the right key: %v", err)
	}
	db.Close()
}

func TestOpenLockedFileTimesOut(t *testing.T) {
	t.Parallel()
	db, path := openTest(t, testOptions())
	_ = db
	o := testOptions()
	o.Timeout = 300 * time.Millisecond // bbolt retries the lock every 50 ms
	start := time.Now()
	if db2, err := Open(path, o); err == nil {
		db2.Close()
		t.Fatal("second Open of a held file succeeded")
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("second Open returned after %v, want it to wait the timeout", d)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	secret, tok, err := db.CreateToken(APIToken{Role: RoleOfficer, Name: "Officer One"}, admin, testNow)
	if err != nil {
		t.Fatal(err)
	}
	rec, code := issuePermit(t, db, 1)
	if _, err := db.SetStatus(rec.Permit.Number, Suspend, "check", revoker, testNow); err != nil {
		t.Fatal(err)
	}
	pending := submit(t, db, personForm(t, 2))
	n0, head0, err := db.VerifyAudit()
	if err != nil {
		t.Fatal(err)
	}
	lists0, _ := db.Lists("")
	used0 := db.alloc[testAuthority].alloc.Used()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path, testOptions())
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if got, err := db.Authenticate(secret); err != nil || got != tok {
		t.Errorf("Authenticate after reopen = %+v, %v; want %+v", got, err, tok)
	}
	got, err := db.Permit(rec.Permit.Number)
	if err != nil || got.State != PermitSuspended || got.Idx != rec.Idx || got.List != rec.List {
		t.Errorf("Permit after reopen = %+v, %v", got, err)
	}
	if a, err := db.Application(pending.ID); err != nil || a.State != AppPending || a.Form == nil {
		t.Errorf("pending application after reopen = %+v, %v", a, err)
	}
	l, _, _, err := db.StatusList(rec.List)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := l.Get(rec.Idx); s != statuslist.Suspended {
		t.Errorf("status after reopen = %v, want suspended", s)
	}
	n1, head1, err := db.VerifyAudit()
	if err != nil || n1 != n0 || head1 != head0 {
		t.Errorf("audit after reopen = %d %s %v; want %d %s", n1, head1, err, n0, head0)
	}
	if lists1, _ := db.Lists(""); len(lists1) != len(lists0) || lists1[0] != lists0[0] {
		t.Errorf("Lists after reopen = %+v, want %+v", lists1, lists0)
	}
	if used := db.alloc[testAuthority].alloc.Used(); used != used0 || !db.alloc[testAuthority].alloc.IsUsed(rec.Idx) {
		t.Errorf("allocator after reopen: used %d (want %d), idx %d used = false", used, used0, rec.Idx)
	}
	// The offer made before closing still works once.
	if _, err := db.RedeemOffer(testCode(code), testAccess("acc"), "n", testNow.Add(time.Hour), testNow); err != nil {
		t.Errorf("RedeemOffer after reopen: %v", err)
	}
	// The pending application still blocks a duplicate.
	_, err = db.Submit(personForm(t, 2), permit.Decision{Eligible: true}, testAuthority, "s", nil, "", resident, testNow)
	wantConflict(t, err, "duplicate_application")
}

// ---- Tokens ----

func TestCreateToken(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	tests := []struct {
		role     Role
		name     string
		wantName string // "" means refused
	}{
		{RoleOfficer, "Officer One", "Officer One"},
		{RoleRevoker, "  padded  ", "padded"},
		{RoleAuditor, strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{RoleAdmin, "王警官", "王警官"},
		{RoleAdmin, strings.Repeat("a", 65), ""},
		{RoleOfficer, "", ""},
		{RoleOfficer, " \t ", ""},
		{RoleOfficer, "bad\xffutf8", ""},
		{Role("root"), "x", ""},
		{Role(""), "x", ""},
		{Role("Officer"), "x", ""},
	}
	created := 0
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.role, tt.name), func(t *testing.T) {
			before := auditCount(t, db)
			secret, tok, err := db.CreateToken(APIToken{Role: tt.role, Name: tt.name}, admin, testNow)
			if tt.wantName == "" {
				if err == nil {
					t.Fatalf("CreateToken succeeded, want refusal")
				}
				if n := auditCount(t, db); n != before {
					t.Errorf("refused CreateToken wrote %d audit entries", n-before)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateToken: %v", err)
			}
			created++
			if !strings.HasPrefix(secret, TokenPrefix) || len(secret) != len(TokenPrefix)+43 {
				t.Errorf("secret %q: want %q and 43 base64url characters", secret, TokenPrefix)
			}
			if tok.Name != tt.wantName || tok.Role != tt.role || tok.ID != Hash(secret)[:12] || !tok.Created.Equal(testNow) {
				t.Errorf("token = %+v", tok)
			}
			if strings.Contains(secret, tok.ID) {
				t.Errorf("the public ID %q is part of the secret", tok.ID)
			}
			if n := auditCount(t, db); n != before+1 {
				t.Errorf("audit entries %d -> %d, want one more", before, n)
			}
			got, err := db.Authenticate(secret)
			if err != nil || got != tok {
				t.Errorf("Authenticate = %+v, %v; want %+v", got, err, tok)
			}
		})
	}
	if n, err := db.TokenCount(); err != nil || n != created {
		t.Errorf("TokenCount = %d, %v; want %d", n, err, created)
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	secret, tok, err := db.CreateToken(APIToken{Role: RoleAuditor, Name: "auditor"}, admin, testNow)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, secret string
		ok           bool
	}{
		{"valid", secret, true},
		{"empty", "", false},
		{"prefix only", TokenPrefix, false},
		{"unknown", TokenPrefix + strings.Repeat("A", 43), false},
		{"without prefix", strings.TrimPrefix(secret, TokenPrefix), false},
		{"other prefix", "ept-" + strings.TrimPrefix(secret, TokenPrefix), false},
		{"upper-case prefix", "EPT_" + strings.TrimPrefix(secret, TokenPrefix), false},
		{"trailing space", secret + " ", false},
		{"truncated", secret[:len(secret)-1], false},
		{"over-long", secret + strings.Repeat("A", 129-len(secret)), false},
		{"very long", TokenPrefix + strings.Repeat("A", 1<<16), false},
		{"hash of the secret", Hash(secret), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := db.Authenticate(tt.secret)
			if tt.ok {
				if err != nil || got != tok {
					t.Fatalf("Authenticate = %+v, %v; want %+v", got, err, tok)
				}
				return
			}
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Authenticate error = %v, want ErrUnauthorized", err)
			}
			if got != (APIToken{}) {
				t.Errorf("refused Authenticate returned %+v", got)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q repeats the presented secret", err)
			}
		})
	}
}

// TestSecretsNeverStoredInClear writes every kind of secret the store
// receives and looks for it in every key and value of every bucket and in the
// raw file.
func TestSecretsNeverStoredInClear(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	tok1, _, err := db.CreateToken(APIToken{Role: RoleAdmin, Name: "admin"}, admin, testNow)
	if err != nil {
		t.Fatal(err)
	}
	tok2, _, err := db.CreateToken(APIToken{Role: RoleOfficer, Name: "officer"}, admin, testNow)
	if err != nil {
		t.Fatal(err)
	}
	f := personForm(t, 7)
	appSecret := "appsecret-" + strings.Repeat("Q", 40)
	a, err := db.Submit(f, permit.Decide(f, testToday), testAuthority, appSecret, []byte("jpeg"), "image/jpeg", resident, testNow)
	if err != nil {
		t.Fatal(err)
	}
	code := "precode-" + strings.Repeat("Z", 40)
	if _, err := db.Approve(a.ID, makePermit(t, f, number(t, f.ResidenceDivision, 7)), testCode(code), testNow.Add(time.Hour), officer, testNow); err != nil {
		t.Fatal(err)
	}
	access := "accesstok-" + strings.Repeat("W", 40)
	if _, err := db.RedeemOffer(testCode(code), testAccess(access), "nonce", testNow.Add(time.Hour), testNow); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"admin token": tok1, "officer token": tok2, "application secret": appSecret, "pre-authorized code": code, "access token": access}
	// The full identity number may sit in the pending form and the permit record, but in no index and no audit entry.
	clearOnlyIn := map[string]bool{string(bApplications): true, string(bPermits): true}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the %s is in the file in clear", what)
		}
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	found := 0
	err = b.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			return bk.ForEach(func(k, v []byte) error {
				found++
				for what, s := range secrets {
					if bytes.Contains(k, []byte(s)) || bytes.Contains(v, []byte(s)) {
						t.Errorf("the %s is stored in clear in bucket %s", what, name)
					}
				}
				if !clearOnlyIn[string(name)] && (bytes.Contains(k, []byte(f.CitizenID)) || bytes.Contains(v, []byte(f.CitizenID))) {
					t.Errorf("the full citizen identity number is stored in bucket %s", name)
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 10 {
		t.Fatalf("scanned only %d records: the scan is not looking at the data", found)
	}
}

// ---- Applications ----

func TestSubmit(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	adult := adultForm(t)
	minor := loadForm(t, "application-minor-guardian.json")
	short := personForm(t, 3)
	short.ResidenceSince = testToday.AddDays(-10)

	tests := []struct {
		name      string
		form      permit.Application
		photo     []byte
		wantState AppState
		wantCode  string // an unmet condition the stored decision must keep
	}{
		{"adult eligible", adult, []byte("photo-bytes"), AppPending, ""},
		{"minor eligible", minor, nil, AppPending, ""},
		{"short residence", short, []byte("photo"), AppIneligible, "residence_under_six_months"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := permit.Decide(tt.form, testToday)
			a, err := db.Submit(tt.form, d, testAuthority, testSecret, tt.photo, "image/jpeg", resident, testNow)
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			got, err := db.Application(a.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range []Application{a, got} {
				if a.State != tt.wantState || a.Authority != testAuthority || a.City != string(tt.form.ResidenceDivision.City()) {
					t.Errorf("application = %+v", a)
				}
				if a.MaskedID != permit.MaskID(tt.form.CitizenID) || strings.Contains(a.MaskedID, tt.form.CitizenID) {
					t.Errorf("MaskedID = %q", a.MaskedID)
				}
				if a.SecretHash != Hash(testSecret) || !a.CheckSecret(testSecret) || a.CheckSecret(testSecret+"x") || a.CheckSecret("") {
					t.Errorf("secret check of %+v", a)
				}
				if !a.Submitted.Equal(testNow) || a.Submitted.Location() != time.UTC {
					t.Errorf("Submitted = %v", a.Submitted)
				}
				switch tt.wantState {
				case AppPending:
					if a.Form == nil || a.Form.CitizenID != tt.form.CitizenID || !a.Decision.Eligible {
						t.Errorf("pending application without its form: %+v", a)
					}
				case AppIneligible:
					if a.Form != nil || a.Decision.Eligible || !a.Decision.Has(tt.wantCode) || a.PhotoType != "" {
						t.Errorf("ineligible application = %+v, want no form and decision %s", a, tt.wantCode)
					}
				}
			}
			photo, typ, err := db.Photo(a.ID)
			if tt.wantState == AppPending && tt.photo != nil {
				if err != nil || !bytes.Equal(photo, tt.photo) || typ != "image/jpeg" {
					t.Errorf("Photo = %q %q %v", photo, typ, err)
				}
			} else if !errors.Is(err, ErrNotFound) {
				t.Errorf("Photo of an application without a kept photo: err = %v", err)
			}
		})
	}
	if _, err := db.Application("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Application(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestSubmitDuplicates(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	f := adultForm(t)
	ningbo := f
	ningbo.ResidenceDivision = "330212"
	otherDistrict := f
	otherDistrict.ResidenceDivision = "330102" // Shangcheng: also Hangzhou
	ineligible := f
	ineligible.Basis = nil

	first := submit(t, db, f)
	tests := []struct {
		name string
		form permit.Application
		code string // "" means accepted
	}{
		{"same person, same city", f, "duplicate_application"},
		{"same person, other district of the city", otherDistrict, "duplicate_application"},
		{"same person, other city", ningbo, ""},
		{"ineligible again", ineligible, ""},
		{"other person", personForm(t, 9), ""},
	}
	for _, tt := range tests {
		_, err := db.Submit(tt.form, permit.Decide(tt.form, testToday), testAuthority, "s", nil, "", resident, testNow)
		if tt.code == "" {
			if err != nil {
				t.Errorf("%s: Submit: %v", tt.name, err)
			}
			continue
		}
		t.Run(tt.name, func(t *testing.T) { wantConflict(t, err, tt.code) })
	}
	// Rejecting the first application frees the person in the city.
	rej, err := db.Reject(first.ID, []string{"photo unclear"}, officer, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if rej.State != AppRejected || rej.Form != nil || len(rej.RejectReasons) != 1 {
		t.Errorf("rejected application = %+v", rej)
	}
	if _, err := db.Reject(first.ID, nil, officer, testNow); err == nil {
		t.Error("second Reject succeeded")
	} else {
		wantConflict(t, err, "not_pending")
	}
	submit(t, db, f)
}

// ---- Approve ----

func TestApprove(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	f := adultForm(t)
	a, err := db.Submit(f, permit.Decide(f, testToday), testAuthority, testSecret, []byte("img"), "image/png", resident, testNow)
	if err != nil {
		t.Fatal(err)
	}
	no := number(t, f.ResidenceDivision, 1)
	p := makePermit(t, f, no)
	rec, err := db.Approve(a.ID, p, testCode("code-1"), testNow.Add(time.Hour), officer, testNow)
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	if rec.State != PermitActive || rec.Authority != testAuthority || rec.Application != a.ID || rec.List != testAuthority+"-1" ||
		rec.Idx < 0 || rec.Idx >= 32768 || rec.Permit.Number != no || rec.Holder != nil || len(rec.History) != 1 {
		t.Errorf("permit record = %+v", rec)
	}
	stored, err := db.Permit(no)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Idx != rec.Idx || stored.List != rec.List || stored.Permit.CitizenID != f.CitizenID || stored.State != PermitActive {
		t.Errorf("stored permit = %+v, want %+v", stored, rec)
	}
	got, err := db.Application(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != AppApproved || got.Form != nil || got.PermitNo != no {
		t.Errorf("approved application = %+v", got)
	}
	if !db.alloc[testAuthority].alloc.IsUsed(rec.Idx) {
		t.Error("the permit's status index is free in the allocator")
	}
	var o Offer
	if err := db.b.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bOffers), grantKeyOf(testCode("code-1")), &o) }); err != nil {
		t.Fatalf("offer: %v", err)
	}
	if o.PermitNo != no || o.Kind != OfferIssue || o.Used || o.Authority != testAuthority || !o.Expires.Equal(testNow.Add(time.Hour)) {
		t.Errorf("offer = %+v", o)
	}
	l, info, _, err := db.StatusList(rec.List)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := l.Get(rec.Idx); err != nil || s != statuslist.Valid || info.Size != 32768 || info.Bits != ListBits {
		t.Errorf("status of a new permit = %v %v, list %+v", s, err, info)
	}

	_, err = db.Approve(a.ID, makePermit(t, f, number(t, f.ResidenceDivision, 2)), testCode("code-2"), testNow.Add(time.Hour), officer, testNow)
	wantConflict(t, err, "not_pending")
	if _, err := db.Permit(number(t, f.ResidenceDivision, 2)); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused approval stored a permit: %v", err)
	}
	if _, err := db.Approve("unknown", p, testCode("c"), testNow, officer, testNow); !errors.Is(err, ErrNotFound) {
		t.Errorf("Approve(unknown) error = %v, want ErrNotFound", err)
	}

	// An ineligible application cannot be approved.
	bad := personForm(t, 5)
	bad.Basis = nil
	ina := submit(t, db, bad)
	_, err = db.Approve(ina.ID, makePermit(t, personForm(t, 5), number(t, bad.ResidenceDivision, 5)), testCode("c5"), testNow, officer, testNow)
	wantConflict(t, err, "not_pending")

	// A permit for someone else than the applicant is refused.
	pa := submit(t, db, personForm(t, 6))
	if _, err := db.Approve(pa.ID, makePermit(t, personForm(t, 8), number(t, bad.ResidenceDivision, 6)), testCode("c6"), testNow, officer, testNow); err == nil {
		t.Error("Approve of a permit that does not match the application succeeded")
	}
}

func TestApproveNumberTaken(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	f1, f2 := personForm(t, 1), personForm(t, 2)
	a1, a2 := submit(t, db, f1), submit(t, db, f2)
	no := number(t, f1.ResidenceDivision, 77)
	if _, err := db.Approve(a1.ID, makePermit(t, f1, no), testCode("c1"), testNow.Add(time.Hour), officer, testNow); err != nil {
		t.Fatal(err)
	}
	used := db.alloc[testAuthority].alloc.Used()
	n := auditCount(t, db)
	_, err := db.Approve(a2.ID, makePermit(t, f2, no), testCode("c2"), testNow.Add(time.Hour), officer, testNow)
	if !errors.Is(err, ErrNumberTaken) {
		t.Fatalf("Approve with a used number: error = %v, want ErrNumberTaken", err)
	}
	if got := db.alloc[testAuthority].alloc.Used(); got != used {
		t.Errorf("a refused approval kept its status index: used %d -> %d", used, got)
	}
	if auditCount(t, db) != n {
		t.Error("a refused approval wrote an audit entry")
	}
	if p, _ := db.Permit(no); p.Application != a1.ID {
		t.Errorf("permit %s now belongs to %s", no, p.Application)
	}
	if a, _ := db.Application(a2.ID); a.State != AppPending || a.Form == nil {
		t.Errorf("application after a refused approval = %+v", a)
	}
	// The same offer code must not have been stored for the refused approval.
	if _, err := db.RedeemOffer(testCode("c2"), testAccess("x"), "n", testNow.Add(time.Hour), testNow); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("offer of a refused approval redeemable: %v", err)
	}
	// Another draw goes through.
	if _, err := db.Approve(a2.ID, makePermit(t, f2, number(t, f2.ResidenceDivision, 78)), testCode("c2"), testNow.Add(time.Hour), officer, testNow); err != nil {
		t.Fatalf("Approve with a fresh number: %v", err)
	}
}

// TestApproveFailureReleasesIndex fails approvals in each way the
// transaction can fail and checks that no status index leaks, in memory and
// after reopening.
func TestApproveFailureReleasesIndex(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	taken, _ := issuePermit(t, db, 1)
	f := personForm(t, 2)
	a := submit(t, db, f)

	// Make the applicant hold an active permit behind the application's back,
	// so that Approve's person check fails.
	ghost := func(on bool) {
		err := db.b.Update(func(tx *bolt.Tx) error {
			pk := db.personKey(f.CitizenID, string(f.ResidenceDivision.City()))
			if on {
				return tx.Bucket(bPersons).Put(pk, []byte(personPermit+"GHOST"))
			}
			return tx.Bucket(bPersons).Put(pk, []byte(personApp+a.ID))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ol := db.alloc[testAuthority]
	used := ol.alloc.Used()
	for i := range 50 {
		var err error
		switch i % 3 {
		case 0:
			_, err = db.Approve(a.ID, makePermit(t, f, taken.Permit.Number), testCode("c"), testNow, officer, testNow)
			if !errors.Is(err, ErrNumberTaken) {
				t.Fatalf("want ErrNumberTaken, got %v", err)
			}
		case 1:
			ghost(true)
			_, err = db.Approve(a.ID, makePermit(t, f, number(t, f.ResidenceDivision, 1000)), testCode("c"), testNow, officer, testNow)
			ghost(false)
			wantConflict(t, err, "duplicate_permit")
		case 2:
			_, err = db.Approve(a.ID, makePermit(t, personForm(t, 3), number(t, f.ResidenceDivision, 1001)), testCode("c"), testNow, officer, testNow)
			if err == nil {
				t.Fatal("mismatched permit approved")
			}
		}
		if got := ol.alloc.Used(); got != used {
			t.Fatalf("after %d failed approvals the allocator holds %d indices, want %d", i+1, got, used)
		}
	}
	rec, _ := approve(t, db, a, f, 1002)
	if got := ol.alloc.Used(); got != used+1 {
		t.Errorf("after one good approval used = %d, want %d", got, used+1)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	al := db.alloc[testAuthority].alloc
	if al.Used() != 2 || !al.IsUsed(rec.Idx) || !al.IsUsed(taken.Idx) {
		t.Errorf("after reopen: used = %d, want exactly the two permits' indices %d and %d", al.Used(), taken.Idx, rec.Idx)
	}
}

func TestDuplicatePermitAndReapplyAfterRevoke(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	f := personForm(t, 1)
	rec, _ := approve(t, db, submit(t, db, f), f, 1)
	try := func() error {
		_, err := db.Submit(f, permit.Decide(f, testToday), testAuthority, "s", nil, "", resident, testNow)
		return err
	}
	wantConflict(t, try(), "duplicate_permit")
	if err := try(); !strings.Contains(err.Error(), rec.Permit.Number) {
		t.Errorf("duplicate_permit error %q does not name the permit", err)
	}
	// Another city is a separate matter.
	nb := f
	nb.ResidenceDivision = "330212"
	submit(t, db, nb)

	if _, err := db.SetStatus(rec.Permit.Number, Suspend, "check", revoker, testNow); err != nil {
		t.Fatal(err)
	}
	wantConflict(t, try(), "duplicate_permit") // a suspended permit still stands
	if _, err := db.SetStatus(rec.Permit.Number, Revoke, "moved away", revoker, testNow); err != nil {
		t.Fatal(err)
	}
	if err := try(); err != nil {
		t.Fatalf("Submit after revocation: %v", err)
	}
	wantConflict(t, try(), "duplicate_application")
}

// ---- Endorse ----

func TestEndorse(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	day, err := permit.NewDate(2027, 11, 10) // inside the window of a permit issued 2026-11-27
	if err != nil {
		t.Fatal(err)
	}
	later := testNow.AddDate(0, 11, 14)

	active, _ := issuePermit(t, db, 1)
	suspended, _ := issuePermit(t, db, 2)
	revoked, _ := issuePermit(t, db, 3)
	if _, err := db.SetStatus(suspended.Permit.Number, Suspend, "", revoker, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetStatus(revoked.Permit.Number, Revoke, "", revoker, testNow); err != nil {
		t.Fatal(err)
	}
	endorsed := func(rec Permit) permit.Permit {
		p, err := rec.Permit.Endorse(day)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := active.Permit
	stale.ValidUntil = stale.ValidUntil.AddDays(1)
	unknown := active.Permit
	unknown.Number = number(t, unknown.ResidenceDivision, 999)

	tests := []struct {
		name string
		p    permit.Permit
		prev permit.Permit
		code string // conflict code; "-" for not found; "" for success
	}{
		{"suspended", endorsed(suspended), suspended.Permit, "permit_suspended"},
		{"revoked", endorsed(revoked), revoked.Permit, "permit_revoked"},
		{"stale prev", endorsed(active), stale, "concurrent_endorsement"},
		{"unknown", unknown, unknown, "-"},
		{"active", endorsed(active), active.Permit, ""},
		{"active again with the old prev", endorsed(active), active.Permit, "concurrent_endorsement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := "endorse-" + tt.name
			before := auditCount(t, db)
			rec, err := db.Endorse(tt.p, tt.prev, testCode(code), later.Add(time.Hour), officer, later)
			_, rerr := db.RedeemOffer(testCode(code), testAccess("a-"+code), "n", later.Add(time.Hour), later)
			switch tt.code {
			case "":
				if err != nil {
					t.Fatalf("Endorse: %v", err)
				}
				if rec.Permit.ValidUntil != tt.p.ValidUntil || rec.History[len(rec.History)-1].Action != "endorse" || rec.State != PermitActive {
					t.Errorf("endorsed record = %+v", rec)
				}
				if got, _ := db.Permit(tt.p.Number); got.Permit.ValidUntil != tt.p.ValidUntil || got.Idx != active.Idx {
					t.Errorf("stored after endorsement: %+v", got)
				}
				if rerr != nil {
					t.Errorf("endorsement offer not redeemable: %v", rerr)
				}
				var o Offer
				_ = db.b.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bOffers), grantKeyOf(testCode(code)), &o) })
				if o.Kind != OfferEndorse || o.PermitNo != tt.p.Number {
					t.Errorf("endorsement offer = %+v", o)
				}
				if auditCount(t, db) != before+1 {
					t.Error("endorsement without one audit entry")
				}
				return
			case "-":
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Endorse error = %v, want ErrNotFound", err)
				}
			default:
				wantConflict(t, err, tt.code)
			}
			if !errors.Is(rerr, ErrInvalidGrant) {
				t.Errorf("a refused endorsement stored its offer: %v", rerr)
			}
			if auditCount(t, db) != before {
				t.Error("a refused endorsement wrote an audit entry")
			}
		})
	}
}

// ---- Offers, access tokens, credentials ----

func TestOfferFlow(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	rec, code := issuePermit(t, db, 1)
	exp := testNow.Add(time.Hour)
	no := rec.Permit.Number

	// The code works once and only before it expires.
	if _, err := db.RedeemOffer(testCode("nope"), testAccess("acc0"), "n", exp, testNow); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("unknown code: %v", err)
	}
	if _, err := db.RedeemOffer(testCode(code), testAccess("acc0"), "n", exp, exp); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("code at its expiry: %v", err)
	}
	acc, err := db.RedeemOffer(testCode(code), testAccess("acc1"), "nonce-1", exp, exp.Add(-time.Nanosecond))
	if err != nil {
		t.Fatalf("RedeemOffer: %v", err)
	}
	if acc.PermitNo != no || acc.CNonce != "nonce-1" || acc.Authority != testAuthority || acc.Used {
		t.Errorf("access = %+v", acc)
	}
	if _, err := db.RedeemOffer(testCode(code), testAccess("acc2"), "n", exp, testNow); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("second redemption: %v", err)
	}
	if _, err := db.Access(testAccess("acc2"), testNow); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("access token of a refused redemption: %v", err)
	}

	// Access reads the token without using it.
	for _, tt := range []struct {
		hash string
		now  time.Time
		ok   bool
	}{
		{testAccess("acc1"), testNow, true},
		{testAccess("acc1"), testNow, true},
		{testAccess("acc1"), exp, false},
		{testAccess("unknown"), testNow, false},
		{"acc1", testNow, false},
	} {
		got, err := db.Access(tt.hash, tt.now)
		if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, ErrInvalidGrant)) || (tt.ok && got != acc) {
			t.Errorf("Access(%.8s, %v) = %+v, %v; want ok %v", tt.hash, tt.now, got, err, tt.ok)
		}
	}

	pub1, _, _ := ed25519.GenerateKey(nil)
	pub2, _, _ := ed25519.GenerateKey(nil)
	if _, err := db.IssueCredential(testAccess("acc1"), pub1, exp); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("IssueCredential with an expired access token: %v", err)
	}
	p, err := db.IssueCredential(testAccess("acc1"), pub1, testNow)
	if err != nil {
		t.Fatalf("IssueCredential: %v", err)
	}
	if p.Holder == nil || p.Credentials != 1 || p.Permit.Number != no {
		t.Errorf("record after first credential = %+v", p)
	}
	if _, err := db.IssueCredential(testAccess("acc1"), pub1, testNow); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("second IssueCredential with one access token: %v", err)
	}
	if _, err := db.Access(testAccess("acc1"), testNow); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("Access of a used token: %v", err)
	}

	// After endorsement, a new credential must go to the same key.
	day, _ := permit.NewDate(2027, 11, 10)
	ep, err := p.Permit.Endorse(day)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Endorse(ep, p.Permit, testCode("code-e"), exp, officer, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RedeemOffer(testCode("code-e"), testAccess("acc-e"), "n2", exp, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssueCredential(testAccess("acc-e"), pub2, testNow); !errors.Is(err, ErrHolderMismatch) {
		t.Fatalf("IssueCredential to another key: %v, want ErrHolderMismatch", err)
	}
	got, _ := db.Permit(no)
	if got.Holder.X != p.Holder.X || got.Credentials != 1 {
		t.Errorf("a refused credential changed the record: %+v", got)
	}
	p2, err := db.IssueCredential(testAccess("acc-e"), pub1, testNow)
	if err != nil {
		t.Fatalf("IssueCredential to the holder after a mismatch: %v", err)
	}
	if p2.Credentials != 2 || p2.Permit.ValidUntil != ep.ValidUntil {
		t.Errorf("record after re-issue = %+v", p2)
	}

	// A revoked permit gets no credential even with a live access token.
	rec3, code3 := issuePermit(t, db, 3)
	if _, err := db.RedeemOffer(testCode(code3), testAccess("acc3"), "n3", exp, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetStatus(rec3.Permit.Number, Revoke, "fraud", revoker, testNow); err != nil {
		t.Fatal(err)
	}
	_, err = db.IssueCredential(testAccess("acc3"), pub1, testNow)
	wantConflict(t, err, "permit_revoked")
	if got, _ := db.Permit(rec3.Permit.Number); got.Holder != nil || got.Credentials != 0 {
		t.Errorf("revoked permit got a holder: %+v", got)
	}
}

// ---- Audit ----

func TestAuditEveryWrite(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	f1, f2 := personForm(t, 1), personForm(t, 2)
	var a1, a2 Application
	var rec Permit
	steps := []struct {
		name    string
		do      func() error
		actions []string
	}{
		{"create token", func() error {
			_, _, err := db.CreateToken(APIToken{Role: RoleOfficer, Name: "o"}, admin, testNow)
			return err
		}, []string{"token.create"}},
		{"submit", func() (err error) {
			a1, err = db.Submit(f1, permit.Decide(f1, testToday), testAuthority, "s", nil, "", resident, testNow)
			return
		}, []string{"application.submit"}},
		{"submit ineligible", func() error {
			g := f2
			g.Basis = nil
			_, err := db.Submit(g, permit.Decide(g, testToday), testAuthority, "s", nil, "", resident, testNow)
			return err
		}, []string{"application.submit"}},
		{"submit 2", func() (err error) {
			a2, err = db.Submit(f2, permit.Decide(f2, testToday), testAuthority, "s", nil, "", resident, testNow)
			return
		}, []string{"application.submit"}},
		{"first approve opens the list", func() (err error) {
			rec, err = db.Approve(a1.ID, makePermit(t, f1, number(t, f1.ResidenceDivision, 1)), testCode("c1"), testNow.Add(time.Hour), officer, testNow)
			return
		}, []string{"status_list.open", "permit.approve"}},
		{"reject", func() error { _, err := db.Reject(a2.ID, []string{"no"}, officer, testNow); return err }, []string{"application.reject"}},
		{"suspend", func() error { _, err := db.SetStatus(rec.Permit.Number, Suspend, "r", revoker, testNow); return err }, []string{"permit.suspend"}},
		{"reinstate", func() error { _, err := db.SetStatus(rec.Permit.Number, Reinstate, "r", revoker, testNow); return err }, []string{"permit.reinstate"}},
		{"redeem (no audit)", func() error {
			_, err := db.RedeemOffer(testCode("c1"), testAccess("a1"), "n", testNow.Add(time.Hour), testNow)
			return err
		}, nil},
		{"credential", func() error {
			pub, _, _ := ed25519.GenerateKey(nil)
			_, err := db.IssueCredential(testAccess("a1"), pub, testNow)
			return err
		}, []string{"credential.issue"}},
		{"endorse", func() error {
			d, _ := permit.NewDate(2027, 11, 10)
			p, _ := db.Permit(rec.Permit.Number)
			e, err := p.Permit.Endorse(d)
			if err != nil {
				return err
			}
			_, err = db.Endorse(e, p.Permit, testCode("c2"), testNow.Add(time.Hour), officer, testNow)
			return err
		}, []string{"permit.endorse"}},
		{"revoke", func() error { _, err := db.SetStatus(rec.Permit.Number, Revoke, "r", revoker, testNow); return err }, []string{"permit.revoke"}},
		{"refused revoke", func() error {
			_, err := db.SetStatus(rec.Permit.Number, Revoke, "r", revoker, testNow)
			if err == nil {
				return errors.New("second revoke succeeded")
			}
			return nil
		}, nil},
	}
	var seq uint64
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got, err := db.Audit(seq, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(s.actions) {
			t.Fatalf("%s: %d new audit entries, want %v", s.name, len(got), s.actions)
		}
		for i, e := range got {
			seq++
			if e.Seq != seq || e.Action != s.actions[i] {
				t.Errorf("%s: entry %d = seq %d %q, want seq %d %q", s.name, i, e.Seq, e.Action, seq, s.actions[i])
			}
			if !e.Time.Equal(testNow) {
				t.Errorf("%s: entry time %v", s.name, e.Time)
			}
			if raw, _ := json.Marshal(e); bytes.Contains(raw, []byte(f1.CitizenID)) || bytes.Contains(raw, []byte(f2.CitizenID)) {
				t.Errorf("%s: audit entry holds a full citizen identity number: %s", s.name, raw)
			}
		}
	}
	if n, head, err := db.VerifyAudit(); err != nil || n != seq || len(head) != 64 {
		t.Errorf("VerifyAudit = %d %q %v, want %d entries", n, head, err, seq)
	}
}

func TestAuditPaging(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	for i := range 10 {
		if _, _, err := db.CreateToken(APIToken{Role: RoleAuditor, Name: fmt.Sprint("t", i)}, admin, testNow); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		after    uint64
		limit    int
		wantSeqs []uint64
	}{
		{0, 3, []uint64{1, 2, 3}},
		{3, 3, []uint64{4, 5, 6}},
		{8, 5, []uint64{9, 10}},
		{9, 1, []uint64{10}},
		{10, 5, nil},
		{100, 5, nil},
		{0, 0, nil},
		{0, -1, nil},
		{0, 100, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
	}
	for _, tt := range tests {
		got, err := db.Audit(tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
		}
		if fmt.Sprint(seqs) != fmt.Sprint(tt.wantSeqs) {
			t.Errorf("Audit(%d, %d) seqs = %v, want %v", tt.after, tt.limit, seqs, tt.wantSeqs)
		}
	}
	// Walking the pages visits each entry once.
	var all []audit.Entry
	for after, pages := uint64(0), 0; ; pages++ {
		if pages > 10 {
			t.Fatalf("paging does not end: after %d pages, at seq %d", pages, after)
		}
		page, err := db.Audit(after, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	var v audit.Verifier
	for _, e := range all {
		if err := v.Next(e); err != nil {
			t.Fatal(err)
		}
	}
	if v.Count() != 10 {
		t.Errorf("paged walk saw %d entries, want 10", v.Count())
	}
}

// TestAuditAfterMaxUint64 pins down the page after the largest sequence
// number: it must be empty, not the whole log.
func TestAuditAfterMaxUint64(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	rec, _ := issuePermit(t, db, 1)
	if _, err := db.SetStatus(rec.Permit.Number, Suspend, "", revoker, testNow); err != nil {
		t.Fatal(err)
	}
	got, err := db.Audit(math.MaxUint64, 10)
	evs, _, err2 := db.StatusEvents(math.MaxUint64, 10)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	if len(got) != 0 || len(evs) != 0 {
		t.Fatalf("Audit(MaxUint64) returned %d entries and StatusEvents(MaxUint64) %d events: afterSeq+1 wraps to 0 and the walk restarts at the first entry", len(got), len(evs))
	}
}

func TestAuditTamper(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		seq        uint64 // the entry changed
		tamper     func(b *bolt.Bucket, k, v []byte) error
		wantSeq    uint64
		wantReason string // "" accepts any
		bug        string // a known bug: skip instead of failing
	}{
		{"actor changed", 3, func(b *bolt.Bucket, k, v []byte) error {
			return b.Put(k, bytes.Replace(v, []byte(`"actor":"admin"`), []byte(`"actor":"mallory"`), 1))
		}, 3, audit.ReasonHash, ""},
		{"detail changed", 5, func(b *bolt.Bucket, k, v []byte) error {
			return b.Put(k, bytes.Replace(v, []byte(`"name":"t4"`), []byte(`"name":"t9"`), 1))
		}, 5, audit.ReasonHash, ""},
		{"hash changed", 2, func(b *bolt.Bucket, k, v []byte) error {
			var e map[string]any
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			h := []byte(e["hash"].(string))
			h[0] ^= 1
			return b.Put(k, bytes.Replace(v, []byte(e["hash"].(string)), h, 1))
		}, 2, "", ""},
		{"entry deleted", 4, func(b *bolt.Bucket, k, v []byte) error { return b.Delete(k) }, 4, "", ""},
		{"unreadable", 6, func(b *bolt.Bucket, k, v []byte) error { return b.Put(k, []byte("{not json")) }, 6, "", ""},
		{"entries swapped", 5, func(b *bolt.Bucket, k, v []byte) error {
			k6 := u64(6)
			v6 := append([]byte(nil), b.Get(k6)...)
			if err := b.Put(k6, v); err != nil {
				return err
			}
			return b.Put(k, v6)
		}, 5, "", "VerifyAudit names the swapped-in entry's own seq (6) with a reason outside audit's set; audit.BrokenError.Seq is the position (5)"},
		{"last entry changed", 8, func(b *bolt.Bucket, k, v []byte) error {
			return b.Put(k, bytes.Replace(v, []byte(`"role":"admin"`), []byte(`"role":"auditor"`), 1))
		}, 8, audit.ReasonHash, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "s.db")
			db, err := Open(path, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			for i := range 8 {
				if _, _, err := db.CreateToken(APIToken{Role: RoleAuditor, Name: fmt.Sprint("t", i)}, admin, testNow); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := db.VerifyAudit(); err != nil {
				t.Fatal(err)
			}
			db.Close()

			b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = b.Update(func(tx *bolt.Tx) error {
				bk := tx.Bucket(bAudit)
				k := u64(tt.seq)
				v := append([]byte(nil), bk.Get(k)...)
				if v == nil {
					return fmt.Errorf("no entry %d", tt.seq)
				}
				if err := tt.tamper(bk, k, v); err != nil {
					return err
				}
				if nv := bk.Get(k); nv != nil && bytes.Equal(nv, v) {
					return errors.New("tamper changed nothing")
				}
				return nil
			})
			b.Close()
			if err != nil {
				t.Fatal(err)
			}

			db, err = Open(path, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			_, _, err = db.VerifyAudit()
			var be *audit.BrokenError
			if !errors.As(err, &be) {
				t.Fatalf("VerifyAudit error = %v, want an *audit.BrokenError", err)
			}
			if be.Seq != tt.wantSeq || (tt.wantReason != "" && be.Reason != tt.wantReason) {
				if tt.bug != "" {
					t.Fatalf("%s: got seq %d %q", tt.bug, be.Seq, be.Reason)
				}
				t.Errorf("BrokenError = seq %d %q, want seq %d %q", be.Seq, be.Reason, tt.wantSeq, tt.wantReason)
			}
		})
	}
}

// ---- Backup ----

func TestBackupDuringWrites(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t, testOptions())
	recs := make([]Permit, 8)
	for i := range recs {
		recs[i], _ = issuePermit(t, db, i)
	}
	nBefore := auditCount(t, db)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := db.CreateToken(APIToken{Role: RoleAuditor, Name: fmt.Sprintf("g%d-%d", g, i)}, admin, testNow); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	path := filepath.Join(t.TempDir(), "backup.db")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Backup(out, nil)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	// Let the writers go on past the snapshot, so the copy must not see their work.
	atBackup := auditCount(t, db)
	for deadline := time.Now().Add(5 * time.Second); auditCount(t, db) <= atBackup && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Size() != n {
		t.Errorf("Backup reported %d bytes, file has %d", n, fi.Size())
	}

	o := testOptions()
	o.IndexKey = otherKey
	if c, err := Open(path, o); err == nil {
		c.Close()
		t.Error("the backup opened with another index key")
	}
	c, err := Open(path, testOptions())
	if err != nil {
		t.Fatalf("Open backup: %v", err)
	}
	defer c.Close()
	nCopy, _, err := c.VerifyAudit()
	if err != nil {
		t.Fatalf("backup audit: %v", err)
	}
	if nCopy < nBefore || nCopy >= auditCount(t, db) {
		t.Errorf("backup has %d audit entries: want at least the %d written before and fewer than the %d now", nCopy, nBefore, auditCount(t, db))
	}
	for _, r := range recs {
		if p, err := c.Permit(r.Permit.Number); err != nil || p.Idx != r.Idx {
			t.Errorf("permit %s in backup: %+v %v", r.Permit.Number, p, err)
		}
	}
	tokens, _ := c.TokenCount()
	if uint64(tokens) != nCopy-nBefore {
		t.Errorf("backup has %d tokens and %d audit entries for them: not one consistent snapshot", tokens, nCopy-nBefore)
	}
	if al := c.alloc[testAuthority].alloc; al.Used() != len(recs) {
		t.Errorf("backup allocator uses %d indices, want %d", al.Used(), len(recs))
	}
}

// TestOpenRefusesHugeListSize: a list size far beyond any real list must be
// refused by Open. Accepted, the first approval commits the list record and
// only then builds its allocator (a used bitmap of size/8 bytes); with 2^40
// entries that is 128 GiB, the process dies, and every later Open dies the
// same way loading the list. The test does not approve anything.
func TestOpenRefusesHugeListSize(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1 << 40, (math.MaxInt/8/32768 + 1) * 32768} {
		o := testOptions()
		o.ListSize = size
		db, err := Open(filepath.Join(t.TempDir(), "s.db"), o)
		if err == nil {
			db.Close()
			t.Fatalf("Open accepted ListSize %d (want an upper bound, such as 1<<24)", size)
		}
	}
}

// testCode and testAccess return a valid grant of the given prefix derived
// from name, the same each time.
func testCode(name string) string   { return testGrant(CodePrefix, name) }
func testAccess(name string) string { return testGrant(AccessPrefix, name) }

func testGrant(prefix, name string) string {
	h := sha256.Sum256([]byte(name))
	return prefix + base64.RawURLEncoding.EncodeToString(h[:])
}

// grantKeyOf returns the record key of a grant.
func grantKeyOf(secret string) []byte {
	for _, p := range []string{CodePrefix, AccessPrefix} {
		if k, _, ok := grantKey(secret, p); ok {
			return k
		}
	}
	panic("not a grant: " + secret)
}
