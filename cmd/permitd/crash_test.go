package main

import (
	"bufio"
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
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/statuslist"
)

// buildPermitd compiles this command into a temporary directory.
func buildPermitd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "permitd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startChild runs permitd as a child process and waits until it listens.
func startChild(t *testing.T, bin, dir, addr string, extra ...string) (*exec.Cmd, *service) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--data", dir, "--addr", addr, "--rate-limit", "100000"}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	s := &service{out: &syncBuffer{}}
	sc := bufio.NewScanner(stdout)
	ready := make(chan struct{})
	go func() {
		for sc.Scan() {
			s.out.Write([]byte(sc.Text() + "\n"))
			if strings.HasPrefix(sc.Text(), "Next:") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatalf("child permitd did not start: %s", s.out)
	}
	out := s.out.String()
	s.base, s.root = listeningRE.FindStringSubmatch(out)[1], rootRE.FindStringSubmatch(out)[1]
	if m := tokenRE.FindStringSubmatch(out); m != nil {
		s.token = m[1]
	}
	return cmd, s
}

// TestCrashKeepsAcknowledgedRevocations kills permitd with SIGKILL while
// clients send hundreds of concurrent revocations. After a restart, every
// revocation that got a 2xx answer is in the store and in the served
// status list.
func TestCrashKeepsAcknowledgedRevocations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs permitd as a child process")
	}
	bin := buildPermitd(t)
	dir := t.TempDir()
	cmd, s := startChild(t, bin, dir, "127.0.0.1:0")
	token := s.token

	const n = 400
	permits := make([]server.PermitResponse, n)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				permits[i] = issued(t, s, i)
			}
		}()
	}
	wg.Wait()

	// 32 clients revoke concurrently; the process dies part-way.
	var acked sync.Map
	var nAcked atomic.Int32
	jobs := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				code, _ := tryCall("POST", s.base+"/v1/permits/"+permits[i].Number+"/revoke", token, `{"reason":"crash test"}`)
				if code/100 == 2 {
					acked.Store(i, true)
					nAcked.Add(1)
				}
			}
		}()
	}
	go func() {
		for deadline := time.Now().Add(time.Minute); nAcked.Load() < n/3 && time.Now().Before(deadline); {
			time.Sleep(200 * time.Microsecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
	}()
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	cmd.Wait()
	got := int(nAcked.Load())
	if got < n/3 || got == n {
		t.Fatalf("%d of %d revocations acknowledged: the kill did not land part-way", got, n)
	}
	t.Logf("%d of %d revocations acknowledged before SIGKILL", got, n)

	cmd2, s2 := startChild(t, bin, dir, strings.TrimPrefix(s.base, "http://"))
	s2.token = token
	set, err := keys.ParseJWKS(mustCall(t, 200, "GET", s2.base+"/.well-known/jwks.json", "", nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string]*statuslist.VerifiedToken{}
	acked.Range(func(k, _ any) bool {
		p := permits[k.(int)]
		var rec server.PermitResponse
		mustCall(t, 200, "GET", s2.base+"/v1/permits/"+p.Number, token, nil, &rec)
		if rec.State != issuer.PermitRevoked {
			t.Errorf("acknowledged revocation of %s lost: %s", p.Number, rec.State)
		}
		c := rec.Credentials[len(rec.Credentials)-1]
		v := lists[c.StatusList]
		if v == nil {
			tok := mustCall(t, 200, "GET", c.StatusList, "", nil, nil)
			if v, err = statuslist.VerifyToken(string(tok), jwksKeyFunc(set), 1<<24); err != nil {
				t.Fatal(err)
			}
			lists[c.StatusList] = v
		}
		if st, _ := v.Lookup(statuslist.Reference{Idx: c.StatusIdx, URI: c.StatusList}); st != statuslist.Invalid {
			t.Errorf("acknowledged revocation of %s not in the served status list: %v", p.Number, st)
		}
		return true
	})

	// A graceful stop, then the audit chain survives the crash intact.
	cmd2.Process.Signal(syscall.SIGTERM)
	if err := cmd2.Wait(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	out, err := exec.Command(bin, "audit", "verify", "--data", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "audit log intact") {
		t.Fatalf("audit verify: %v %s", err, out)
	}
}

// tryCall sends a request and returns the status, or 0 when the connection failed.
func tryCall(method, u, token, body string) (int, error) {
	r, err := newRequest(method, u, token, body)
	if err != nil {
		return 0, err
	}
	resp, err := crashClient.Do(r)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
