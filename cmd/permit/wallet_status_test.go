package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/store/boltdb"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/vault"
)

// liveService is the issuer service (package issuer behind package
// server, as permitd runs them) on a loopback port, with a clock the test
// moves: the service, its HTTP answers (their Date too) and the CLI all
// read it.
type liveService struct {
	t    *testing.T
	srv  *httptest.Server
	svc  *issuer.Service
	base string
	pin  string

	mu  sync.Mutex
	now time.Time
}

func (s *liveService) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *liveService) setNow(t time.Time) {
	s.mu.Lock()
	s.now = t
	s.mu.Unlock()
}

// newLiveService starts a service hosting the Hangzhou authority.
func newLiveService(t *testing.T) *liveService {
	t.Helper()
	s := &liveService{t: t, now: t0}
	dir := t.TempDir()
	st, err := boltdb.Open(filepath.Join(dir, "permitd.db"), boltdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kek, err := vault.LoadFileKEK(filepath.Join(dir, "kek"), true)
	if err != nil {
		t.Fatal(err)
	}
	slots, err := vault.OpenSlotFile(filepath.Join(dir, "datakeys"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slots.Close() })
	key := func(b byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)) }
	ring, err := keys.NewRing(keys.Entry{Signer: key(2)})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewUnstartedServer(nil)
	s.base = "http://" + s.srv.Listener.Addr().String()
	s.svc, err = issuer.New(context.Background(), issuer.Config{Storage: st, Vault: vault.New(kek, slots, nil), IndexKey: bytes.Repeat([]byte{7}, 32),
		AuditKey: key(9), BaseURL: s.base, Now: s.clock, ListSize: 1 << 15,
		Authorities: []*issuer.Authority{{Slug: "hz", Region: "3301", Name: trust.Text{ZH: "杭州市公安局", EN: "Hangzhou Public Security Bureau"}, Keys: ring}}})
	if err != nil {
		t.Fatal(err)
	}
	root := key(1)
	s.pin = keys.Thumbprint(root.Public().(ed25519.PublicKey))
	h, err := server.New(server.Config{BaseURL: s.base, Root: root, Service: s.svc, Now: s.clock, RateLimit: 1000, RateBurst: 1000, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	api := h.Handler()
	s.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", s.clock().UTC().Format(http.TimeFormat))
		api.ServeHTTP(w, r)
	})
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// official makes a token of role, valid from the clock's time.
func (s *liveService) official(role issuer.Role) string {
	s.t.Helper()
	secret, _, err := s.svc.CreateToken(context.Background(), issuer.Official{Name: "test", Role: issuer.RoleAdmin},
		issuer.NewToken{Role: role, Name: "test " + string(role)}, s.clock())
	if err != nil {
		s.t.Fatal(err)
	}
	return secret
}

// call makes an API request and decodes a 2xx answer into out.
func (s *liveService) call(want int, method, path string, role issuer.Role, body, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	r, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		r.Header.Set("Authorization", "Bearer "+s.official(role))
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatal(err)
		}
	}
}

// approvedOffer applies with the example application and approves it: the
// permit number and the offer link.
func (s *liveService) approvedOffer() (string, string) {
	s.t.Helper()
	raw, err := os.ReadFile(adultApp)
	if err != nil {
		s.t.Fatal(err)
	}
	var form map[string]any
	json.Unmarshal(raw, &form)
	delete(form, "photo_sha256")
	var a server.ApplicationResponse
	s.call(201, "POST", "/v1/applications", "", map[string]any{"application": form}, &a)
	var p server.PermitResponse
	s.call(201, "POST", "/v1/applications/"+a.ID+"/approve", issuer.RoleOfficer, nil, &p)
	return p.Number, p.Offer.URI
}

// phone is a resident's CLI wallet trusting the service.
func (s *liveService) phone(name string) string {
	s.t.Helper()
	dir := filepath.Join(s.t.TempDir(), name)
	must(s.t, s.clock(), "wallet", "init", "--dir", dir)
	must(s.t, s.clock(), "wallet", "trust", "--dir", dir, "--from", s.base, "--pin", s.pin)
	return dir
}

// list runs wallet list on dir and returns its only permit.
func (s *liveService) list(dir string, extra ...string) (listed, outcome) {
	s.t.Helper()
	o := must(s.t, s.clock(), append([]string{"wallet", "list", "--dir", dir}, extra...)...)
	got := parseList(s.t, o.stdout)
	if len(got) != 1 {
		s.t.Fatalf("want one permit listed:\n%s", o.stdout)
	}
	return got[0], o
}

// expectListed checks a permit's standing word and that its lines hold
// every one of want.
func expectListed(t *testing.T, what string, l listed, word string, want ...string) {
	t.Helper()
	if l.fields[5] != word {
		t.Errorf("%s: standing %s, want %s:\n%s", what, l.fields[5], word, l.lines)
	}
	for _, w := range want {
		if !strings.Contains(l.lines, w) {
			t.Errorf("%s: the lines lack %q:\n%s", what, w, l.lines)
		}
	}
}

// TestWalletStatusLive follows a permit's life from the resident's CLI
// wallet, against the issuer service: valid, suspended and reinstated,
// re-issued to a second phone (the first one's code refused, its wallet
// saying why and making no more codes), the endorsement window (nothing to
// refresh yet), an endorsement at the counter picked up by wallet list,
// an overdue permit restored by a late endorsement through wallet refresh,
// revocation, and the service gone (what was known, and since when).
func TestWalletStatusLive(t *testing.T) {
	t.Parallel()
	s := newLiveService(t)
	no, offer := s.approvedOffer()
	phone1 := s.phone("phone1")
	must(t, s.clock(), "wallet", "accept", "--dir", phone1, offer)

	l, o := s.list(phone1)
	expectListed(t, "just received", l, "VALID", "签发机关：杭州市公安局", "issued by Hangzhou Public Security Bureau",
		"状态：有效（2026-11-27 10:00 查询，刚刚）", "Status: valid (checked 2026-11-27 10:00, just now)", "in 334 days")
	if o.stderr != "" {
		t.Errorf("stderr of a valid permit: %q", o.stderr)
	}

	// Suspended: said, with what to do; the code is still made, with a warning.
	s.setNow(t0.Add(time.Hour))
	s.call(200, "POST", "/v1/permits/"+no+"/suspend", issuer.RoleRevoker, server.ReasonRequest{Reason: "核查居住情况"}, nil)
	l, o = s.list(phone1)
	expectListed(t, "suspended", l, "SUSPENDED", "状态：已暂停使用", "Status: suspended", "verifiers refuse it until the authority reinstates it", "签发机关恢复")
	if !strings.Contains(o.stderr, "permit: warning: permit "+no) {
		t.Errorf("no warning on stderr: %q", o.stderr)
	}
	if o := cli(s.clock(), "", "wallet", "show", "--dir", phone1); o.code != 0 || !strings.Contains(o.stderr, "permit: warning: The issuing authority suspended the permit") {
		t.Errorf("wallet show of a suspended permit: %v", o)
	}
	s.call(200, "POST", "/v1/permits/"+no+"/reinstate", issuer.RoleRevoker, server.ReasonRequest{Reason: "核查无误"}, nil)
	l, _ = s.list(phone1)
	expectListed(t, "reinstated", l, "VALID", "Status: valid")

	// Re-issued to a second phone: the first phone's code, made before it
	// knows, is refused by a verifier as superseded.
	s.setNow(t0.Add(2 * time.Hour))
	var re server.PermitResponse
	s.call(201, "POST", "/v1/permits/"+no+"/offers", issuer.RoleOfficer, nil, &re)
	phone2 := s.phone("phone2")
	must(t, s.clock(), "wallet", "accept", "--dir", phone2, re.Offer.URI)
	code := strings.TrimSpace(must(t, s.clock(), "wallet", "show", "--dir", phone1).stdout)
	cache := filepath.Join(t.TempDir(), "verifier")
	must(t, s.clock(), "verifier", "sync", "--dir", cache, "--from", s.base, "--pin", s.pin)
	if v := cli(s.clock(), "", "verify", "--cache", cache, code); v.code != 1 || !strings.Contains(v.stdout, "superseded") {
		t.Fatalf("the first phone's code after the re-issue: %v", v)
	}
	// Its wallet learns it, says what to do, tries a refresh (a newer
	// credential exists) and is told it is bound to another key.
	l, o = s.list(phone1)
	expectListed(t, "superseded", l, "SUPERSEDED", "状态：已被新证照取代", "Status: superseded",
		"请用持有新证照的手机出示", "Show the permit from the phone that holds the newer credential",
		"更新失败：签发机关未接受本设备的密钥证明", "Not refreshed: The issuer did not accept this device's proof of its key")
	for _, args := range [][]string{{"wallet", "show", "--dir", phone1}, {"wallet", "show", "--dir", phone1, "--live", "--live-for", "1s"}} {
		o := cli(s.clock(), "", args...)
		if o.code != 1 || o.stdout != "" || !strings.Contains(o.stderr, "此电子证照已被新证照取代") || !strings.Contains(o.stderr, "This credential was replaced by a newer one") {
			t.Errorf("%s of a superseded credential: %v", strings.Join(args, " "), o)
		}
	}
	l, _ = s.list(phone2)
	expectListed(t, "the second phone", l, "VALID", "Status: valid")

	// The endorsement window: wallet list asks the issuer, which has
	// nothing newer yet. The wallet's trust list has expired meanwhile and
	// is fetched again.
	s.setNow(time.Date(2027, 11, 1, 9, 0, 0, 0, t0.Location()))
	l, o = s.list(phone2)
	expectListed(t, "in the window", l, "ENDORSEMENT-DUE", "请在 2027-11-27 前到签发机关窗口办理签注（还有 26 天）",
		"Status: valid (checked 2027-11-01 09:00, just now)", "Asked the issuer: not endorsed since; the credential is up to date.")
	if !strings.Contains(o.stderr, "The endorsement window is open") {
		t.Errorf("stderr in the window: %q", o.stderr)
	}
	if o := must(t, s.clock(), "wallet", "refresh", "--dir", phone2); o.stdout != no+"\t已向签发机关查询：尚未签注，电子证照已是最新。\nAsked the issuer: not endorsed since; the credential is up to date.\n" {
		t.Errorf("wallet refresh before the endorsement: %v", o)
	}
	// Endorsed at the counter: wallet list picks the new credential up.
	s.call(200, "POST", "/v1/permits/"+no+"/endorse", issuer.RoleOfficer, nil, nil)
	l, _ = s.list(phone2)
	expectListed(t, "endorsed", l, "VALID", "Refreshed from the issuer: the credential is valid until 2028-11-27.",
		"已从签发机关更新电子证照，有效期至 2028-11-27。", "Status: valid (checked 2027-11-01 09:00")
	if l.fields[4] != "valid until 2028-11-27" {
		t.Errorf("after the refresh: %q", l.fields)
	}
	if files, _ := filepath.Glob(filepath.Join(phone2, "credentials", "*.sd-jwt")); len(files) != 1 {
		t.Errorf("the refreshed credential did not replace the old one in place: %v", files)
	}
	code2 := strings.TrimSpace(must(t, s.clock(), "wallet", "show", "--dir", phone2).stdout)
	must(t, s.clock(), "verifier", "sync", "--dir", cache)
	if v := cli(s.clock(), "", "verify", "--cache", cache, code2); v.code != 0 {
		t.Fatalf("the refreshed credential's code: %v", v)
	}

	// Overdue: suspended until a late endorsement, which wallet refresh
	// then fetches (the permit's years restart from that day, Art. 10).
	s.setNow(time.Date(2028, 12, 5, 9, 0, 0, 0, t0.Location()))
	l, _ = s.list(phone2, "--offline")
	expectListed(t, "overdue", l, "OVERDUE", "年度签注已于 2028-11-27 到期，居住证暂停使用，办理逾期签注后恢复",
		"Status: valid (checked 2027-11-01 09:00; not checked now: --offline)")
	s.call(200, "POST", "/v1/permits/"+no+"/endorse", issuer.RoleOfficer, nil, nil)
	if o := must(t, s.clock(), "wallet", "refresh", "--dir", phone2, "--permit", no); !strings.Contains(o.stdout, "valid until 2029-12-05") {
		t.Errorf("wallet refresh after the late endorsement: %v", o)
	}
	l, _ = s.list(phone2)
	expectListed(t, "late endorsement", l, "VALID", "Status: valid (checked 2028-12-05 09:00, just now)")

	// Revoked: no refresh, no code, what to do.
	s.call(200, "POST", "/v1/permits/"+no+"/revoke", issuer.RoleRevoker, server.ReasonRequest{Reason: "已离开本市"}, nil)
	l, _ = s.list(phone2)
	expectListed(t, "revoked", l, "REVOKED", "状态：已注销", "Status: revoked", "如仍符合条件，可重新申领", "if you still qualify, apply again")
	if strings.Contains(l.lines, "refresh") {
		t.Errorf("a refresh was tried for a revoked permit:\n%s", l.lines)
	}
	if o := cli(s.clock(), "", "wallet", "show", "--dir", phone2); o.code != 1 || !strings.Contains(o.stderr, "此居住证已被签发机关注销，不能再出示") {
		t.Errorf("wallet show of a revoked permit: %v", o)
	}
	if o := cli(s.clock(), "", "wallet", "refresh", "--dir", phone2); o.code != 1 || !strings.Contains(o.stderr, "居住证") || !strings.Contains(o.stderr, "revoked") {
		t.Errorf("wallet refresh of a revoked permit: %v", o)
	}

	// The service gone: what the wallet knew, and since when.
	s.srv.Close()
	s.setNow(time.Date(2028, 12, 6, 9, 0, 0, 0, t0.Location()))
	l, _ = s.list(phone2)
	expectListed(t, "offline", l, "REVOKED", "Status: revoked (as of 2028-12-05 09:00; offline since then: The issuer could not be reached",
		"状态：已注销（截至 2028-12-05 09:00；此后离线，未能查询：无法连接签发机关")
}
