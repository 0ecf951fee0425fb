package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/synthetic"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/statuslist"
)

// TestScale measures permitd on a store made by "permitd store generate"
// (make scale; docs/performance.md, "Province scale"): the start to
// /healthz, warm and with the page cache dropped; the memory; the time to
// serve each status list, first and cached; the time from a revocation's
// acknowledgement to the served list showing it; and issuance over HTTP
// (the wallet flow of server.BenchmarkIssueHTTP) against that store and,
// in the same run, against an empty one. It needs EPERMIT_SCALE_DATA (the
// data directory) and EPERMIT_SCALE_LIST (the numbers the generator
// wrote); it is skipped without them. EPERMIT_SCALE_ISSUE sets the
// credentials issued per round (default 20000), EPERMIT_SCALE_ROUNDS the
// rounds on each store (default 2); EPERMIT_SCALE_ALSO other data
// directories to issue on in the same rounds (such as a compacted copy);
// EPERMIT_SCALE_COLD=0 skips the start with the page cache dropped.
func TestScale(t *testing.T) {
	dir, list := os.Getenv("EPERMIT_SCALE_DATA"), os.Getenv("EPERMIT_SCALE_LIST")
	if dir == "" || list == "" {
		t.Skip("make scale runs it, on a generated store: EPERMIT_SCALE_DATA=DIR EPERMIT_SCALE_LIST=FILE")
	}
	issueN, rounds := envInt("EPERMIT_SCALE_ISSUE", 20000), envInt("EPERMIT_SCALE_ROUNDS", 2)
	bin := buildPermitd(t)
	r := &scaleReport{t: t}
	var stats bytes.Buffer
	if err := storeStats([]string{"--data", dir}, &stats); err != nil {
		t.Fatal(err)
	}
	r.log("store stats (permitd store stats --data %s):\n%s", dir, stats.String())

	// Before the service starts: an administrator's token, the lists, and
	// active permits to revoke.
	token, lists, targets := scalePrepare(t, dir, list, 20)

	// The start, with the page cache dropped, then warm.
	if os.Getenv("EPERMIT_SCALE_COLD") == "0" {
		r.log("cold start: not measured (EPERMIT_SCALE_COLD=0)")
	} else if err := dropCaches(); err != nil {
		r.log("cold start: not measured, the page cache cannot be dropped here: %v", err)
	} else {
		s := startTimed(t, bin, dir)
		r.log("start to /healthz, page cache dropped: %s; RSS %s", s.started, s.rss())
		s.stop(t)
	}
	var s *child
	for i := range 3 {
		s = startTimed(t, bin, dir)
		r.log("start to /healthz, warm (%d): %s; RSS %s", i+1, s.started, s.rss())
		if i < 2 {
			s.stop(t)
		}
	}
	set, err := keys.ParseJWKS(mustCall(t, 200, "GET", s.base+"/.well-known/jwks.json", "", nil, nil))
	if err != nil {
		t.Fatal(err)
	}

	// Each status list: the first GET signs it, the next come from the cache.
	for _, l := range lists {
		u := s.base + "/status/" + l.ID
		t0 := time.Now()
		body := mustCall(t, 200, "GET", u, "", nil, nil)
		first := time.Since(t0)
		var cached []time.Duration
		for range 50 {
			t0 := time.Now()
			mustCall(t, 200, "GET", u, "", nil, nil)
			cached = append(cached, time.Since(t0))
		}
		slices.Sort(cached)
		v, err := statuslist.VerifyToken(string(body), jwksKeyFunc(set), 1<<24)
		if err != nil {
			t.Fatal(err)
		}
		notValid := 0
		for i := range l.Size {
			if st, _ := v.Lookup(statuslist.Reference{Idx: i, URI: u}); st != statuslist.Valid {
				notValid++
			}
		}
		r.log("status list %s (%d entries, %d not valid, version %d): token %d bytes; first GET %s, cached GET median %s (max %s)",
			l.ID, l.Size, notValid, l.Version, len(body), first.Round(10*time.Microsecond), cached[len(cached)/2].Round(time.Microsecond),
			cached[len(cached)-1].Round(time.Microsecond))
	}
	r.log("RSS after serving the lists: %s", s.rss())

	// Revocations: the time from the acknowledgement to a GET of the list
	// that shows it, the list fetched back to back as an impatient verifier
	// would (verifiers may cache it for its max-age: see the report).
	var lat []time.Duration
	for _, p := range targets {
		mustCall(t, 200, "POST", s.base+"/v1/permits/"+p.no+"/revoke", token, map[string]string{"reason": "scale test"}, nil)
		acked := time.Now()
		for {
			resp, err := http.Get(s.base + "/status/" + p.list)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := time.Since(acked)
			v, err := statuslist.VerifyToken(string(body), jwksKeyFunc(set), 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			if st, _ := v.Lookup(statuslist.Reference{Idx: p.idx, URI: s.base + "/status/" + p.list}); st == statuslist.Invalid {
				lat = append(lat, got)
				break
			}
			if got > 10*time.Second {
				t.Fatalf("revocation of %s not served after %s", p.no, got)
			}
		}
	}
	slices.Sort(lat)
	r.log("revocation acknowledged -> served list shows it, %d revocations: min %s, median %s, max %s",
		len(lat), lat[0].Round(time.Microsecond), lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	s.stop(t)

	// Issuance, on this store, the others named and an empty one, rounds
	// alternating.
	stores := []struct{ name, dir string }{{"full store", dir}}
	for _, d := range strings.Split(os.Getenv("EPERMIT_SCALE_ALSO"), ",") {
		if d != "" {
			stores = append(stores, struct{ name, dir string }{d, d})
		}
	}
	stores = append(stores, struct{ name, dir string }{"empty store", t.TempDir()})
	for round := range rounds {
		for _, st := range stores {
			codes := scaleOffers(t, st.dir, issueN, freshSeed())
			c := startTimed(t, bin, st.dir)
			cpu0, own0 := c.cpu(), ownCPU()
			rate, p50, p99 := issueLoad(t, c.base, codes, 128)
			cpu, own := c.cpu()-cpu0, ownCPU()-own0
			r.log("issuance over HTTP, %s, round %d: %d credentials by 128 wallets: %.0f/s, p50 %s, p99 %s; CPU a credential: permitd %s, wallets %s; RSS %s",
				st.name, round+1, len(codes), rate, p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond),
				(cpu / time.Duration(len(codes))).Round(time.Microsecond), (own / time.Duration(len(codes))).Round(time.Microsecond), c.rss())
			c.stop(t)
		}
	}
	stats.Reset()
	if err := storeStats([]string{"--data", dir}, &stats); err != nil {
		t.Fatal(err)
	}
	r.log("store stats after the measurements:\n%s", stats.String())
}

// freshSeed returns a population seed not used before: people drawn again
// would hold permits already, and be refused.
func freshSeed() uint64 { return uint64(time.Now().UnixNano()) }

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// scaleReport logs each measurement with the machine's load average.
type scaleReport struct{ t *testing.T }

func (r *scaleReport) log(format string, args ...any) {
	load, _ := os.ReadFile("/proc/loadavg")
	r.t.Logf("[load %s] "+format, append([]any{strings.Join(strings.Fields(string(load))[:3], " ")}, args...)...)
}

// revocable is an active permit and its credential's status entry.
type revocable struct {
	no, list string
	idx      int
}

// openOffline opens the service of a data directory in this process.
func openOffline(t *testing.T, dir string) *env {
	t.Helper()
	e, err := (&common{data: dir, baseURL: "http://127.0.0.1"}).open(time.Now(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// scalePrepare opens the store while no service runs and returns an
// administrator's token, the status lists and n active permits of the list
// file.
func scalePrepare(t *testing.T, dir, list string, n int) (string, []issuer.ListInfo, []revocable) {
	t.Helper()
	e := openOffline(t, dir)
	defer e.close()
	ctx := context.Background()
	secret, _, err := e.svc.CreateToken(ctx, cliOfficial("scale test"), issuer.NewToken{Role: issuer.RoleAdmin, Name: "scale test", TTL: 24 * time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	lists, err := e.svc.Lists(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(list)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []revocable
	auditor := issuer.Official{Name: "scale test", Role: issuer.RoleAuditor}
	for _, row := range rows[1:] {
		p, err := e.svc.Permit(ctx, auditor, row[0], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if p.State == issuer.PermitActive {
			cv := p.Credentials[len(p.Credentials)-1]
			out = append(out, revocable{no: p.Number, list: cv.StatusList[strings.LastIndexByte(cv.StatusList, '/')+1:], idx: cv.StatusIdx})
		}
		if len(out) == n {
			break
		}
	}
	return secret, lists, out
}

// scaleOffers makes n approved permits with their offers in the store of
// dir, through the service as officers would, while no service runs.
func scaleOffers(t *testing.T, dir string, n int, seed uint64) []string {
	t.Helper()
	e := openOffline(t, dir)
	defer e.close()
	return offersIn(t, e, n, seed)
}

// offersIn makes n approved permits with their offers through the service
// of e, from 64 goroutines, and returns their codes. A person drawn again
// who holds a permit in the city is refused, as Approve does: fewer codes.
func offersIn(t *testing.T, e *env, n int, seed uint64) []string {
	t.Helper()
	g, err := synthetic.New(synthetic.Config{Seed: seed, Now: time.Now(), MinAge: 0, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	forms := make([]issuer.SeedPermit, n)
	for i := range forms {
		forms[i] = g.Next()
	}
	codes := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	officer := issuer.Official{Name: "scale test", Role: issuer.RoleOfficer}
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				a, _, err := e.svc.Submit(context.Background(), issuer.Submission{Form: forms[i].Form}, time.Now())
				if err == nil {
					var o issuer.OfferGrant
					_, o, err = e.svc.Approve(context.Background(), officer, a.ID, time.Now())
					codes[i] = o.Code
				}
				if errors.Is(err, issuer.ErrStateConflict) {
					continue // a person of the store drawn again, who holds a permit in the city
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return slices.DeleteFunc(codes, func(c string) bool { return c == "" })
}

// child is a permitd serving a data directory.
type child struct {
	cmd     *exec.Cmd
	base    string
	started time.Duration
}

// startTimed starts permitd on a free port and returns once /healthz
// answers, with the time that took.
func startTimed(t *testing.T, bin, dir string) *child {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--data", dir, "--addr", addr, "--rate-limit", "100000")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := &child{cmd: cmd, base: "http://" + addr}
	for {
		resp, err := http.Get(c.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				c.started = time.Since(t0).Round(time.Millisecond)
				return c
			}
		}
		if time.Since(t0) > 10*time.Minute {
			t.Fatalf("permitd did not start: %s", out.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rss reports the child's resident memory now and at its peak.
func (c *child) rss() string {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.cmd.Process.Pid), "status"))
	if err != nil {
		return "unknown"
	}
	val := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			val[k] = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%s (peak %s)", val["VmRSS"], val["VmHWM"])
}

// cpu returns the CPU time the child has used (user and system).
func (c *child) cpu() time.Duration {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.cmd.Process.Pid), "stat"))
	if err != nil {
		return 0
	}
	// The fields after the command name in parentheses: utime and stime are
	// the 12th and 13th, in clock ticks of 1/100 s.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	return time.Duration(u+k) * 10 * time.Millisecond
}

// ownCPU returns the CPU time this process has used.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stop ends the child as an operator would (SIGTERM) and waits.
func (c *child) stop(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("permitd stopped with %v", err)
	}
}

// dropCaches empties the kernel's page cache, so that the next start reads
// the store from the disk.
func dropCaches() error {
	if err := exec.Command("sync").Run(); err != nil {
		return err
	}
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

// issueLoad has wallets take the credentials of the offers' codes over
// HTTP, as server.BenchmarkIssueHTTP does, and returns the rate and the
// latencies of one credential (token and credential requests).
func issueLoad(t *testing.T, base string, codes []string, wallets int) (float64, time.Duration, time.Duration) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	holder := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32))
	lat := make([]time.Duration, len(codes))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range wallets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(codes); i = int(next.Add(1) - 1) {
				t0 := time.Now()
				if err := takeCredential(client, base, codes[i], holder); err != nil {
					t.Error(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if t.Failed() {
		t.FailNow()
	}
	slices.Sort(lat)
	return float64(len(codes)) / el.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100]
}

// takeCredential redeems an offer's code and takes its credential, bound
// to holder: POST /token, then POST /credential with a fresh proof.
func takeCredential(c *http.Client, base, code string, holder ed25519.PrivateKey) error {
	form := url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {code}}
	resp, err := c.PostForm(base+"/token", form)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("token: %d %s", resp.StatusCode, body)
	}
	var tr oid4vci.TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return err
	}
	proof, err := oid4vci.NewProof(holder, base+"/zj", tr.CNonce, time.Now())
	if err != nil {
		return err
	}
	req, _ := oid4vci.CredentialRequest{ConfigurationID: server.ConfigurationID, Proofs: []string{proof}}.MarshalJSON()
	r, _ := http.NewRequest("POST", base+"/credential", bytes.NewReader(req))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	resp, err = c.Do(r)
	if err != nil {
		return err
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("credential: %d %s", resp.StatusCode, body)
	}
	return nil
}

// TestScaleStore is the issuance of TestScale without HTTP, proofs or
// another process, as server.BenchmarkIssueStore: the service's two durable
// writes a credential (redeem the code; take a status entry, spend the
// token and the nonce) and its signature, from 128 goroutines, on the
// generated store, the others named in EPERMIT_SCALE_ALSO and an empty
// one, all open in this process, in short rounds taken in turn so that the
// machine's load falls alike on each. It reports the median rate of each.
func TestScaleStore(t *testing.T) {
	dir := os.Getenv("EPERMIT_SCALE_DATA")
	if dir == "" {
		t.Skip("make scale runs it, on a generated store: EPERMIT_SCALE_DATA=DIR")
	}
	rounds, n := envInt("EPERMIT_SCALE_ROUNDS", 2)*4, 2000
	r := &scaleReport{t: t}
	dirs := append([]string{dir}, strings.FieldsFunc(os.Getenv("EPERMIT_SCALE_ALSO"), func(c rune) bool { return c == ',' })...)
	dirs = append(dirs, t.TempDir())
	names := append(append([]string(nil), dirs[:len(dirs)-1]...), "empty store")
	envs := make([]*env, len(dirs))
	for i, d := range dirs {
		envs[i] = openOffline(t, d)
		defer envs[i].close()
	}
	holder := keys.PublicJWK(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32)).Public().(ed25519.PublicKey))
	rates := make([][]float64, len(dirs))
	for range rounds {
		for i, e := range envs {
			codes := offersIn(t, e, n, freshSeed())
			var next atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			for range 128 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := int(next.Add(1) - 1); k < len(codes); k = int(next.Add(1) - 1) {
						now := time.Now()
						red, err := e.svc.RedeemOffer(context.Background(), codes[k], now)
						if err == nil {
							_, err = e.svc.IssueCredential(context.Background(), red.AccessToken, issuer.Proof{Holder: holder, Nonce: red.Nonce}, now)
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			rates[i] = append(rates[i], float64(len(codes))/time.Since(start).Seconds())
		}
	}
	median := func(rs []float64) float64 { slices.Sort(rs); return rs[len(rs)/2] }
	base := median(rates[len(rates)-1])
	for i, rs := range rates {
		m := median(rs)
		r.log("store-level issuance, %s: %d rounds of %d credentials by 128 goroutines: median %.0f/s (%.0f to %.0f), %.2fx the empty store's",
			names[i], len(rs), n, m, rs[0], rs[len(rs)-1], m/base)
	}
}
