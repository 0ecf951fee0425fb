package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/qr"
)

// The live tests replace the package-level liveClock and liveTerminal, so
// they run sequentially (no t.Parallel): Go starts the parallel tests of
// the package only after every sequential one has returned.

// fakeClock is the live loop's clock in tests: time stands still until the
// loop waits, and then moves on by exactly the wait.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	waits  int
	onWait func(n int) (block bool) // called after the n-th wait moved the clock
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.waits++
	n, now := c.waits, c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if c.onWait != nil && c.onWait(n) {
		return ch // never fires
	}
	ch <- now
	return ch
}

// runLive runs args with c as the clock of both env.now and the live loop,
// stdout taken for a terminal when tty is set.
func runLive(c *fakeClock, tty bool, args ...string) outcome {
	oldClock, oldTerm := liveClock, liveTerminal
	liveClock, liveTerminal = c, func(io.Writer) bool { return tty }
	defer func() { liveClock, liveTerminal = oldClock, oldTerm }()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb, c.Now)
	return outcome{code, out.String(), errb.String()}
}

// drawnCodes decodes every QR code drawn with half blocks in out, in order.
func drawnCodes(t *testing.T, out string) []string {
	t.Helper()
	const on, off = "\x1b[30;107m", "\x1b[0m"
	var texts []string
	var rows []string
	flush := func() {
		if len(rows) == 0 {
			return
		}
		n := len([]rune(rows[0]))
		img := image.NewGray(image.Rect(0, 0, 4*n, 4*n))
		for i := range img.Pix {
			img.Pix[i] = 0xff
		}
		for ly, line := range rows {
			for x, r := range []rune(line) {
				top, bottom := r == '█' || r == '▀', r == '█' || r == '▄'
				for half, dark := range []bool{top, bottom} {
					y := 2*ly + half
					if !dark || y >= n {
						continue
					}
					for dy := range 4 {
						for dx := range 4 {
							img.SetGray(4*x+dx, 4*y+dy, color.Gray{})
						}
					}
				}
			}
		}
		text, err := qr.DecodePresentation(img)
		if err != nil {
			t.Fatalf("code %d drawn on stdout does not scan: %v", len(texts)+1, err)
		}
		texts = append(texts, text)
		rows = nil
	}
	for _, line := range strings.Split(out, "\n") {
		body, ok := strings.CutPrefix(line, on)
		if !ok {
			flush()
			continue
		}
		rows = append(rows, strings.TrimSuffix(body, off))
	}
	flush()
	return texts
}

// keyBinding returns the iat and nonce of a presentation's key-binding JWT.
func keyBinding(t *testing.T, text string) (iat int64, nonce string) {
	t.Helper()
	parts := strings.Split(text[strings.LastIndex(text, "~")+1:], ".")
	if len(parts) != 3 {
		t.Fatalf("no key-binding JWT at the end of %.60q", text)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var kb struct {
		Iat   int64  `json:"iat"`
		Nonce string `json:"nonce"`
	}
	if err := json.Unmarshal(raw, &kb); err != nil {
		t.Fatal(err)
	}
	return kb.Iat, kb.Nonce
}

func TestWalletShowLive(t *testing.T) {
	f := newFixture(t)
	png := filepath.Join(t.TempDir(), "live.png")
	c := &fakeClock{now: t0}
	var pngs [][]byte // each distinct content of the PNG file, seen at the waits
	c.onWait = func(int) bool {
		b, err := os.ReadFile(png)
		if err != nil {
			t.Errorf("PNG missing during the live loop: %v", err)
		} else if len(pngs) == 0 || !bytes.Equal(pngs[len(pngs)-1], b) {
			pngs = append(pngs, b)
		}
		return false
	}
	o := runLive(c, false, "wallet", "show", "--dir", f.wallet, "--purpose", "public-service", "--live", "--live-for", "90s", "--qr", png)
	if o.code != 0 {
		t.Fatalf("wallet show --live: %v", o)
	}
	if got := c.Now(); !got.Equal(t0.Add(90 * time.Second)) {
		t.Errorf("--live-for 90s stopped at %v, want %v", got, t0.Add(90*time.Second))
	}
	if !strings.Contains(o.stderr, "stopped after 3 presentations") {
		t.Errorf("stderr does not say the loop stopped after 3: %q", o.stderr)
	}
	// Not a terminal: each code printed once, no countdown, no cursor movement.
	if strings.Contains(o.stdout, "refreshes in") || strings.Contains(o.stdout, "\x1b[K") || strings.Contains(o.stdout, "\x1b[J") {
		t.Errorf("non-terminal output has countdown or cursor movement:\n%s", o.stdout)
	}
	header := "permit " + f.permitNo + " (李明, 110105********0517, 浙江省杭州市西湖区), purpose public-service (basic public services, 基本公共服务)\n" +
		"discloses: name, masked citizen ID, residence region, permit number; residence and household addresses, household division, residence since, basis, first issue date\n"
	if n := strings.Count(o.stdout, header); n != 3 {
		t.Errorf("header printed %d times, want 3; stdout:\n%s", n, o.stdout)
	}
	for i, at := range []string{"10:00:00, next at 10:00:30", "10:00:30, next at 10:01:00", "10:01:00, next at 10:01:30"} {
		if want := fmt.Sprintf("code %d made %s\n", i+1, at); !strings.Contains(o.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}

	texts := drawnCodes(t, o.stdout)
	if len(texts) != 3 {
		t.Fatalf("%d codes drawn, want 3", len(texts))
	}
	if len(pngs) != 3 {
		t.Fatalf("PNG file had %d distinct contents, want 3 (one per refresh)", len(pngs))
	}
	nonces := map[string]bool{}
	for i, text := range texts {
		fromPNG, err := qr.DecodeReader(bytes.NewReader(pngs[i]), 1<<20)
		if err != nil {
			t.Fatalf("PNG %d: %v", i+1, err)
		}
		if pres, err := qr.NormalizeScanned(string(fromPNG)); err != nil || pres != text {
			t.Errorf("PNG %d holds another presentation than code %d drawn", i+1, i+1)
		}
		iat, nonce := keyBinding(t, text)
		made := t0.Add(time.Duration(i) * liveRefresh)
		if iat != made.Unix() {
			t.Errorf("code %d: iat %d, want %d (%v)", i+1, iat, made.Unix(), made)
		}
		if nonces[nonce] {
			t.Errorf("code %d reuses nonce %q", i+1, nonce)
		}
		nonces[nonce] = true
		// Scanned a few seconds after it was drawn, each code verifies and
		// discloses the residence group only.
		v := cli(made.Add(5*time.Second), "", f.verifyArgs("public-service", "--json", text)...)
		if v.code != 0 {
			t.Fatalf("code %d does not verify: %v", i+1, v)
		}
		r := decodeVerdicts(t, v.stdout)[0]
		_, hasID := r.Claims["citizen_id"]
		_, hasAddr := r.Claims["residence_address"]
		if !r.Valid || !r.Fresh || !r.Holder || hasID || !hasAddr {
			t.Errorf("code %d: valid %t fresh %t holder %t citizen_id %t residence_address %t", i+1, r.Valid, r.Fresh, r.Holder, hasID, hasAddr)
		}
	}
}

func TestWalletShowLiveTerminal(t *testing.T) {
	f := newFixture(t)
	c := &fakeClock{now: t0}
	o := runLive(c, true, "wallet", "show", "--dir", f.wallet, "--live", "--live-for", "31s")
	if o.code != 0 {
		t.Fatalf("wallet show --live on a terminal: %v", o)
	}
	// 30 countdown steps for the first code, one before --live-for ends.
	if n := strings.Count(o.stdout, "\r\x1b[Krefreshes in "); n != 31 {
		t.Errorf("%d countdown updates, want 31", n)
	}
	for _, s := range []string{"refreshes in 30 s", "refreshes in 29 s", "refreshes in 1 s", "discloses only: name, masked citizen ID, residence region, permit number\n"} {
		if !strings.Contains(o.stdout, s) {
			t.Errorf("stdout lacks %q", s)
		}
	}
	// The second code is drawn over the first, and the last is erased.
	redraw := regexp.MustCompile(`\r\x1b\[(\d+)A\x1b\[J`)
	m := redraw.FindAllStringSubmatch(o.stdout, -1)
	if len(m) != 2 || !strings.HasSuffix(o.stdout, m[1][0]) {
		t.Fatalf("want one redraw in place and a final erase, got %q", m)
	}
	texts := drawnCodes(t, o.stdout)
	if len(texts) != 2 || texts[0] == texts[1] {
		t.Fatalf("want 2 distinct codes, got %d", len(texts))
	}
	// The cursor goes back up over the header and the whole code.
	// The header: the permit, what it discloses, and its status in two languages.
	for _, s := range []string{"\n状态：未查询\nStatus: not checked\n"} {
		if !strings.Contains(o.stdout, s) {
			t.Errorf("stdout lacks %q", s)
		}
	}
	if lines := fmt.Sprint(4 + strings.Count(o.stdout[:strings.Index(o.stdout, "\r\x1b[K")], "\x1b[0m\n")); m[0][1] != lines {
		t.Errorf("redraw moves up %s lines, want %s", m[0][1], lines)
	}
	for i, text := range texts {
		iat, _ := keyBinding(t, text)
		if want := t0.Add(time.Duration(i) * liveRefresh).Unix(); iat != want {
			t.Errorf("code %d: iat %d, want %d", i+1, iat, want)
		}
	}
}

func TestWalletShowLiveInterrupted(t *testing.T) {
	f := newFixture(t)
	c := &fakeClock{now: t0}
	c.onWait = func(n int) bool {
		if n != 3 {
			return false
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			t.Errorf("kill: %v", err)
		}
		return true // the timer never fires: only the signal ends the wait
	}
	done := make(chan outcome, 1)
	go func() { done <- runLive(c, false, "wallet", "show", "--dir", f.wallet, "--live") }()
	select {
	case o := <-done:
		if o.code != 0 || !strings.Contains(o.stderr, "stopped after 1 presentations") {
			t.Fatalf("interrupted live loop: %v", o)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not stop the live loop")
	}
}

func TestWalletShowLiveUsage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name       string
		args       []string // after wallet show --dir DIR
		wantCode   int
		wantStderr string
	}{
		{"challenge is single-use", []string{"--live", "--aud", "https://counter.example", "--nonce", "x"}, 2, "nonce is single-use"},
		{"live-for without live", []string{"--live-for", "1m"}, 2, "--live-for needs --live"},
		{"negative live-for", []string{"--live", "--live-for", "-1s"}, 2, "is negative"},
		{"not a duration", []string{"--live", "--live-for", "soon"}, 2, "invalid value"},
		{"stray argument", []string{"--live", "extra"}, 2, "takes no arguments"},
		{"refused purpose", []string{"--live", "--purpose", "credit-loan"}, 1, "a residence permit cannot be used for credit loans"},
		{"unknown purpose", []string{"--live", "--purpose", "tax-refund"}, 1, `unknown purpose: "tax-refund"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := cli(t0, "", append([]string{"wallet", "show", "--dir", f.wallet}, tt.args...)...)
			if o.code != tt.wantCode || o.stdout != "" || !strings.Contains(o.stderr, tt.wantStderr) {
				t.Fatalf("want exit %d, no stdout, stderr ~ %q; got %v", tt.wantCode, tt.wantStderr, o)
			}
		})
	}
}

func TestWalletListWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// A permit issued on March 31 is due on March 31 and its window opens on
	// February 28 (permit.Permit.WindowOpens clamps to the month's end).
	issued := time.Date(2027, 3, 31, 10, 0, 0, 0, permit.ChinaTime())
	march := filepath.Join(f.dir, "march")
	must(t, issued, "wallet", "init", "--dir", march)
	cred := filepath.Join(f.dir, "march.sd-jwt")
	must(t, issued, "issue", "--app", adultApp, "--holder", filepath.Join(march, "device.jwk.json"), "--key", f.issuerKey,
		"--iss", testIss, "--status-uri", testStatus, "--idx", "8", "--out", cred)
	must(t, issued, "wallet", "add", "--dir", march, "--jwks", f.issuerSet, cred)
	at := func(y int, m time.Month, d, h, mi int) time.Time {
		return time.Date(y, m, d, h, mi, 0, 0, permit.ChinaTime())
	}

	tests := []struct {
		name       string
		dir        string
		now        time.Time
		wantUntil  string
		wantWord   string
		wantLine   string // the advice, in English
		wantStderr string // "" for none
	}{
		{"just issued", f.wallet, t0, "2027-11-27", "VALID",
			"The endorsement window opens on 2027-10-27 (in 334 days); endorse before 2027-11-27.", ""},
		{"last day before the window", f.wallet, at(2027, 10, 26, 23, 59), "2027-11-27", "VALID",
			"The endorsement window opens on 2027-10-27 (in 1 day); endorse before 2027-11-27.", ""},
		{"window opens", f.wallet, at(2027, 10, 27, 0, 0), "2027-11-27", "ENDORSEMENT-DUE",
			"The endorsement window is open: have the permit endorsed at the issuing authority's counter before 2027-11-27 (31 days left), then update the wallet (permit wallet refresh).",
			"permit: warning: permit %s: The endorsement window is open"},
		{"overdue", f.wallet, at(2027, 11, 27, 0, 0), "2027-11-27", "OVERDUE",
			"The yearly endorsement was due on 2027-11-27: the permit is suspended until a late endorsement restores it (Art. 10 of the Interim Regulations). Have it endorsed at the issuing authority's counter, then update the wallet (permit wallet refresh).",
			"permit: warning: permit %s: The yearly endorsement was due on 2027-11-27"},
		{"clock before issuance", f.wallet, t0.AddDate(0, 0, -2), "2027-11-27", "NOT-YET-VALID",
			"The permit was issued on 2026-11-27, after this device's date (2026-11-25): check the device clock.",
			"check the device clock"},
		{"month end: day before the window", march, at(2028, 2, 28, 23, 59), "2028-03-31", "VALID",
			"The endorsement window opens on 2028-02-29 (in 1 day); endorse before 2028-03-31.", ""},
		{"month end: window clamped to February 29", march, at(2028, 2, 29, 8, 0), "2028-03-31", "ENDORSEMENT-DUE",
			"The endorsement window is open: have the permit endorsed at the issuing authority's counter before 2028-03-31 (31 days left), then update the wallet (permit wallet refresh).",
			"The endorsement window is open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := must(t, tt.now, "wallet", "list", "--dir", tt.dir)
			got := parseList(t, o.stdout)
			if len(got) != 1 {
				t.Fatalf("want one permit, got\n%s", o.stdout)
			}
			if got[0].fields[4] != "valid until "+tt.wantUntil || got[0].fields[5] != tt.wantWord {
				t.Errorf("header %q, want valid until %s, %s", got[0].fields, tt.wantUntil, tt.wantWord)
			}
			if !strings.Contains(got[0].lines, "\n"+tt.wantLine) {
				t.Errorf("lines\n%s\nlack %q", got[0].lines, tt.wantLine)
			}
			if got[0].fields[1] != "李明" || got[0].fields[2] != "110105********0517" {
				t.Errorf("name and masked ID: %q", got[0].fields[1:3])
			}
			want := tt.wantStderr
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, got[0].fields[0])
			}
			if (want == "") != (o.stderr == "") || !strings.Contains(o.stderr, want) {
				t.Errorf("stderr %q, want %q", o.stderr, want)
			}
		})
	}
}
