package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/statuslist"
)

// TestReplicasFailover runs two permitd replicas on one PostgreSQL
// database, sends a thousand revocations and issuances spread over both,
// and kills one with SIGKILL midway. Afterwards every acknowledged write is
// in the database and in the status list the surviving replica serves, no
// status-list entry was given twice, and the audit chain verifies.
func TestReplicasFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two permitd replicas on PostgreSQL")
	}
	db := newDatabase(t)
	bin := buildPermitd(t)
	dir := t.TempDir()
	// Replicas behind a load balancer share one public URL.
	const public = "https://ep.example"
	cmdA, a := startChild(t, bin, dir, "127.0.0.1:0", "--store", db, "--base-url", public)
	cmdB, b := startChild(t, bin, dir, "127.0.0.1:0", "--store", db, "--base-url", public)
	if a.token == "" || b.token != "" {
		t.Fatalf("first tokens: replica A %q, replica B %q: want exactly one", a.token, b.token)
	}
	b.token = a.token
	replicas := []*service{a, b}

	// Permits to revoke, issued through both replicas.
	const nRevoke, nIssue = 400, 600
	revocable := make([]server.PermitResponse, nRevoke)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < nRevoke; i += 8 {
				revocable[i] = issuedAcross(t, replicas[i%2], replicas[(i+1)%2], i)
			}
		}()
	}
	wg.Wait()

	// A thousand writes over both replicas; A dies part-way.
	type job struct {
		revoke bool
		i      int
	}
	jobs := make(chan job)
	var acked sync.Map // "r:i" or "i:i" -> permit number
	var nAcked, toA atomic.Int32
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				s := replicas[j.i%2]
				if j.revoke {
					code, _ := tryCall("POST", s.base+"/v1/permits/"+revocable[j.i].Number+"/revoke", s.token, `{"reason":"failover test"}`)
					if code == 200 {
						acked.Store(fmt.Sprintf("r:%d", j.i), revocable[j.i].Number)
						nAcked.Add(1)
					}
					continue
				}
				if no, ok := tryIssue(s, replicas[(j.i+1)%2], 1000+j.i); ok {
					acked.Store(fmt.Sprintf("i:%d", j.i), no)
					nAcked.Add(1)
				}
			}
		}()
	}
	go func() {
		for deadline := time.Now().Add(2 * time.Minute); nAcked.Load() < (nRevoke+nIssue)/3 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		toA.Store(nAcked.Load())
		cmdA.Process.Signal(syscall.SIGKILL)
	}()
	for i := range max(nRevoke, nIssue) {
		if i < nRevoke {
			jobs <- job{revoke: true, i: i}
		}
		if i < nIssue {
			jobs <- job{i: i}
		}
	}
	close(jobs)
	wg.Wait()
	cmdA.Wait()
	got := int(nAcked.Load())
	t.Logf("%d of %d writes acknowledged; replica A killed after %d", got, nRevoke+nIssue, toA.Load())
	if toA.Load() == 0 || got == nRevoke+nIssue {
		t.Fatalf("the kill did not land part-way (%d acknowledged, %d at the kill)", got, toA.Load())
	}

	// Everything acknowledged, as replica B serves it.
	set, err := keys.ParseJWKS(mustCall(t, 200, "GET", b.base+"/.well-known/jwks.json", "", nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string]*statuslist.VerifiedToken{}
	served := func(c issuer.CredentialView) statuslist.Status {
		v := lists[c.StatusList]
		if v == nil {
			tok := mustCall(t, 200, "GET", strings.Replace(c.StatusList, public, b.base, 1), "", nil, nil)
			if v, err = statuslist.VerifyToken(string(tok), jwksKeyFunc(set), 1<<24); err != nil {
				t.Fatal(err)
			}
			lists[c.StatusList] = v
		}
		st, err := v.Lookup(statuslist.Reference{Idx: c.StatusIdx, URI: c.StatusList})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	entries := map[string]string{} // list#idx -> permit
	checked := 0
	acked.Range(func(k, v any) bool {
		var rec server.PermitResponse
		mustCall(t, 200, "GET", b.base+"/v1/permits/"+v.(string), b.token, nil, &rec)
		if len(rec.Credentials) == 0 {
			t.Errorf("%s: acknowledged, but the permit %s has no credential", k, rec.Number)
			return true
		}
		cur := rec.Credentials[len(rec.Credentials)-1]
		if strings.HasPrefix(k.(string), "r:") {
			if rec.State != issuer.PermitRevoked || served(cur) != statuslist.Invalid {
				t.Errorf("acknowledged revocation of %s lost: %s, served %v", rec.Number, rec.State, served(cur))
			}
		} else if served(cur) != statuslist.Valid {
			t.Errorf("acknowledged issuance of %s: served %v", rec.Number, served(cur))
		}
		checked++
		return true
	})
	// No status-list entry was given twice, over every permit of both kinds.
	for _, ps := range [][]server.PermitResponse{revocable} {
		for _, p := range ps {
			var rec server.PermitResponse
			mustCall(t, 200, "GET", b.base+"/v1/permits/"+p.Number, b.token, nil, &rec)
			for _, c := range rec.Credentials {
				e := fmt.Sprintf("%s#%d", c.StatusList, c.StatusIdx)
				if other, dup := entries[e]; dup {
					t.Fatalf("status entry %s given to %s and %s", e, other, rec.Number)
				}
				entries[e] = rec.Number
			}
		}
	}
	acked.Range(func(k, v any) bool {
		if !strings.HasPrefix(k.(string), "i:") {
			return true
		}
		var rec server.PermitResponse
		mustCall(t, 200, "GET", b.base+"/v1/permits/"+v.(string), b.token, nil, &rec)
		for _, c := range rec.Credentials {
			e := fmt.Sprintf("%s#%d", c.StatusList, c.StatusIdx)
			if other, dup := entries[e]; dup && other != rec.Number {
				t.Fatalf("status entry %s given to %s and %s", e, other, rec.Number)
			}
			entries[e] = rec.Number
		}
		return true
	})
	t.Logf("%d acknowledged writes checked, %d status entries distinct", checked, len(entries))

	// The audit chain of both replicas' writes.
	cmdB.Process.Signal(syscall.SIGTERM)
	if err := cmdB.Wait(); err != nil {
		t.Fatalf("replica B's graceful stop: %v", err)
	}
	out, err := exec.Command(bin, "audit", "verify", "--data", dir, "--store", db).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "audit log intact") {
		t.Fatalf("audit verify: %v %s", err, out)
	}
}

// issuedAcross applies for and approves permit n on one replica, and
// redeems its offer and gets its credential on the other.
func issuedAcross(t *testing.T, on, other *service, n int) server.PermitResponse {
	t.Helper()
	p := approved(t, on, n)
	if no, ok := walletOn(other, p, n); !ok || no != p.Number {
		t.Fatalf("issuing %s through the other replica failed", p.Number)
	}
	return p
}

// tryIssue runs a whole issuance through two replicas and reports whether
// the credential was acknowledged, without failing on a dead replica.
func tryIssue(on, other *service, n int) (string, bool) {
	body := fmt.Sprintf(`{"application":%s}`, applicationJSON(n))
	code, resp := tryCallBody("POST", on.base+"/v1/applications", "", body)
	if code != 201 {
		return "", false
	}
	var a server.ApplicationResponse
	if json.Unmarshal(resp, &a) != nil {
		return "", false
	}
	code, resp = tryCallBody("POST", on.base+"/v1/applications/"+a.ID+"/approve", on.token, "")
	if code != 201 {
		return "", false
	}
	var p server.PermitResponse
	if err := json.Unmarshal(resp, &p); err != nil || p.Offer == nil {
		return "", false
	}
	return walletOn(other, p, n)
}

// walletOn redeems a permit's offer and asks for its credential on s.
func walletOn(s *service, p server.PermitResponse, n int) (string, bool) {
	holder := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(n), byte(n >> 8), 7}, 11)[:32])
	o, err := oid4vci.ParseOfferURI(p.Offer.URI)
	if err != nil {
		return "", false
	}
	form := url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {o.PreAuthorizedCode}}
	r, err := newRequest("POST", s.base+"/token", "", form.Encode())
	if err != nil {
		return "", false
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := crashClient.Do(r)
	if err != nil {
		return "", false
	}
	var tr oid4vci.TokenResponse
	err = decodeBody(resp, &tr)
	if err != nil || resp.StatusCode != 200 {
		return "", false
	}
	proof, err := oid4vci.NewProof(holder, p.Issuer, tr.CNonce, time.Now())
	if err != nil {
		return "", false
	}
	req, _ := oid4vci.CredentialRequest{ConfigurationID: server.ConfigurationID, Proofs: []string{proof}}.MarshalJSON()
	code, body := tryCallBody("POST", s.base+"/credential", tr.AccessToken, string(req))
	_ = body
	return p.Number, code == 200
}

// tryCallBody sends a request and returns its status and body; status 0
// when the connection failed (a killed replica).
func tryCallBody(method, u, token, body string) (int, []byte) {
	r, err := newRequest(method, u, token, body)
	if err != nil {
		return 0, nil
	}
	resp, err := crashClient.Do(r)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil
	}
	return resp.StatusCode, data
}

func decodeBody(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// applicationJSON is the n-th person's application form.
func applicationJSON(n int) []byte {
	data, err := os.ReadFile("../../examples/application-adult-hangzhou.json")
	if err != nil {
		panic(err)
	}
	var form map[string]any
	json.Unmarshal(data, &form)
	form["citizen_id"] = citizenID(n)
	delete(form, "photo_sha256")
	out, _ := json.Marshal(form)
	return out
}

// TestStoreCopy moves a bbolt deployment to PostgreSQL and back: every
// record and data key arrives, the copy is checked, and a service on the
// copy reads the permits' personal data.
func TestStoreCopy(t *testing.T) {
	db := newDatabase(t)
	dir := t.TempDir()
	s := startService(t, dir)
	p := approved(t, s, 1)
	token := s.token
	rejected := ""
	{
		var a server.ApplicationResponse
		mustCall(t, 201, "POST", s.base+"/v1/applications", "", application(t, 2), &a)
		mustCall(t, 200, "POST", s.base+"/v1/applications/"+a.ID+"/reject", token, server.ReasonsRequest{Reasons: []string{"not confirmed"}}, nil)
		rejected = a.ID
	}
	s.stop()
	code, out, errs := runCmd("store", "copy", "--data", dir, "--from", filepath.Join(dir, "permitd.db"), "--to", db)
	if code != 0 || !strings.Contains(out, "every bucket checked") || !strings.Contains(out, "audit log of the copy intact") || !strings.Contains(out, "data keys moved") {
		t.Fatalf("store copy to PostgreSQL: %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runCmd("store", "copy", "--data", dir, "--from", filepath.Join(dir, "permitd.db"), "--to", db); code == 0 || !strings.Contains(errs, "not empty") {
		t.Fatalf("a copy into a used store: %d %s", code, errs)
	}
	// The service on PostgreSQL reads what the file held.
	s = startService(t, dir, "--store", db)
	s.token = token
	var rec server.PermitResponse
	mustCall(t, 200, "GET", s.base+"/v1/permits/"+p.Number, token, nil, &rec)
	if rec.Particulars == nil || rec.Particulars.CitizenID != citizenID(1) {
		t.Fatalf("the permit on PostgreSQL: %+v", rec.PermitView)
	}
	if c, _ := call(t, "GET", s.base+"/v1/applications/"+rejected, token, "", nil, nil); c != 200 {
		t.Fatalf("the rejected application: %d", c)
	}
	s.stop()
	// And back, into a data directory of its own with the same keys.
	back := t.TempDir()
	copyKeys(t, filepath.Join(dir, "keys"), filepath.Join(back, "keys"))
	os.Remove(filepath.Join(back, "keys", "datakeys"))
	code, out, errs = runCmd("store", "copy", "--data", back, "--from", db, "--to", filepath.Join(back, "permitd.db"))
	if code != 0 || !strings.Contains(out, "every bucket checked") {
		t.Fatalf("store copy back: %d\n%s%s", code, out, errs)
	}
	s = startService(t, back)
	s.token = token
	mustCall(t, 200, "GET", s.base+"/v1/permits/"+p.Number, token, nil, &rec)
	if rec.Particulars == nil || rec.Particulars.CitizenID != citizenID(1) {
		t.Fatalf("the permit back on a file: %+v", rec.PermitView)
	}
	s.stop()
}

// copyKeys copies a keys directory as an operator would: files 0600,
// directories 0700.
func copyKeys(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
