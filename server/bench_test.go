package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/permit"
)

// benchOffers makes n approved permits with their offers straight through
// the store, and returns the pre-authorized codes and the authority's iss.
func benchOffers(b *testing.B, ts *testServer, n int) []string {
	b.Helper()
	codes := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				data, _ := json.Marshal(person(b, i))
				form, err := permit.ParseApplication(data)
				if err != nil {
					errs <- err
					return
				}
				now := ts.clock()
				ctx := context.Background()
				a, _, err := ts.svc.Submit(ctx, issuer.Submission{Form: form}, now)
				if err != nil {
					errs <- err
					return
				}
				_, g, err := ts.svc.Approve(ctx, issuer.Official{Name: "bench", Role: issuer.RoleOfficer}, a.ID, now)
				if err != nil {
					errs <- err
					return
				}
				code := g.Code
				codes[i] = code
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return codes
}

// BenchmarkIssueHTTP measures issuance to wallets over HTTP on loopback
// with durable writes: per credential, POST /token (one commit) and POST
// /credential with a fresh proof (one commit), from 32 and 128 concurrent
// wallets. The wallets' work (proof signing, HTTP) runs on the same cores.
func BenchmarkIssueHTTP(b *testing.B) {
	for _, wallets := range []int{32, 128} {
		b.Run(fmt.Sprintf("wallets=%d", wallets), func(b *testing.B) { benchIssueHTTP(b, wallets) })
	}
}

func benchIssueHTTP(b *testing.B, wallets int) {
	// As permitd runs (cmd/permitd: GOGC 400 unless set).
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	ts := newTestServer(b, func(c *Config) { c.Now, c.RateLimit, c.RateBurst = time.Now, 1e9, 1e9 })
	ts.setNow(time.Now())
	codes := benchOffers(b, ts, b.N)
	hs := httptest.NewServer(ts.s.Handler())
	defer hs.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	holder := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32))
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	b.SetParallelism(wallets / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			t0 := time.Now()
			if err := walletIssue(client, hs.URL, codes[i], holder); err != nil {
				b.Error(err)
				return
			}
			lat[i] = time.Since(t0)
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "credentials/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// walletIssue redeems one offer code and fetches its credential.
func walletIssue(c *http.Client, base, code string, holder ed25519.PrivateKey) error {
	form := url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {code}}
	resp, err := c.Post(base+"/token", "application/x-www-form-urlencoded", bytes.NewReader([]byte(form.Encode())))
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
	proof, err := oid4vci.NewProof(holder, testBase+"/hz", tr.CNonce, time.Now())
	if err != nil {
		return err
	}
	reqBody, _ := oid4vci.CredentialRequest{ConfigurationID: ConfigurationID, Proofs: []string{proof}}.MarshalJSON()
	r, _ := http.NewRequest("POST", base+"/credential", bytes.NewReader(reqBody))
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

// BenchmarkIssueStore is BenchmarkIssueHTTP without HTTP or proofs: the
// service's two durable writes per credential (redeem the code; take a
// status entry, spend the token and the nonce) and the credential's
// signature, from 64 concurrent goroutines. It bounds what the HTTP path
// can reach.
func BenchmarkIssueStore(b *testing.B) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	ts := newTestServer(b, func(c *Config) { c.Now, c.RateLimit, c.RateBurst = time.Now, 1e9, 1e9 })
	ts.setNow(time.Now())
	codes := benchOffers(b, ts, b.N)
	holder := keys.PublicJWK(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32)).Public().(ed25519.PublicKey))
	var next atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			now := time.Now()
			r, err := ts.svc.RedeemOffer(context.Background(), codes[i], now)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := ts.svc.IssueCredential(context.Background(), r.AccessToken, issuer.Proof{Holder: holder, Nonce: r.Nonce}, now); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "credentials/s")
}
