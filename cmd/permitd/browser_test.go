package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/verifier"
)

// screenshots makes the browser tests write their screenshots into docs/.
var screenshots = flag.Bool("screenshots", false, "write the browser apps' screenshots into docs/screenshots")

// chromium returns the browser to drive, or skips the test when there is
// none (fails instead when EPERMIT_BROWSER_TESTS=require, as in CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("EPERMIT_BROWSER_TESTS") == "require" {
		t.Fatal("no chromium: apt-get install chromium")
	}
	t.Skip("no chromium installed (apt-get install chromium); set EPERMIT_BROWSER_TESTS=require to fail instead")
	return ""
}

// buildWithApps compiles permitd into a temporary directory with the
// browser apps' WebAssembly module built now from this checkout (as make
// wasm builds it) and embedded through a build overlay: go test ./... needs
// no make wasm first, writes nothing into the source tree, and never tests
// a stale module.
func buildWithApps(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	gobuild := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command("go", append([]string{"build"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	wasm := filepath.Join(dir, "epermit.wasm")
	gobuild([]string{"GOOS=js", "GOARCH=wasm"}, "-trimpath", "-ldflags=-s -w", "-o", wasm, "../epermit-wasm")
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	app, err := filepath.Abs(filepath.Join("..", "..", "web", "static", "app"))
	if err != nil {
		t.Fatal(err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {
		filepath.Join(app, "epermit.wasm"): wasm,
		filepath.Join(app, "wasm_exec.js"): filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "permitd")
	gobuild(nil, "-overlay", filepath.Join(dir, "overlay.json"), "-o", bin, ".")
	return bin
}

// startWithApps runs the permitd of buildWithApps as a child process on
// addr with data in dir; its stop ends it as Ctrl-C would.
func startWithApps(t *testing.T, bin, dir, addr string) *service {
	t.Helper()
	cmd, s := startChild(t, bin, dir, addr)
	var once sync.Once
	s.stop = func() int {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		})
		return cmd.ProcessState.ExitCode()
	}
	return s
}

// newBrowser starts a headless Chromium; camera, when not empty, is an MJPEG
// file the browser's fake camera plays.
func newBrowser(t *testing.T, camera string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(412, 915))
	if camera != "" {
		opts = append(opts, chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-video-capture", camera))
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatal(err)
	}
	return ctx
}

// tab opens a new tab in the browser of ctx.
func tab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	// Open the tab now, under the test's context: a tab opened by the first
	// action would close when that action's deadline is cancelled.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// step runs actions with a time limit.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v%s", what, err, pageState(ctx))
	}
}

// eval evaluates a JS expression.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v%s", expr, err, pageState(ctx))
	}
	return v
}

// poll waits until a JS expression is true.
func poll(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(40*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v%s", what, err, pageState(ctx))
	}
}

// pageState describes the page for a failure message.
func pageState(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText.slice(0, 1500)`))
	if err != nil {
		return ""
	}
	return "\npage: " + s
}

// screenshot takes a PNG of the element sel and saves it under docs/ when asked.
func screenshot(t *testing.T, ctx context.Context, sel, name string) []byte {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var shot []byte
	var err error
	if sel == "" {
		// From the top, so that sticky headers stay where they belong.
		if _, err := chromedp.Run(c, chromedp.Evaluate[bool](`window.scrollTo(0, 0), true`)); err != nil {
			t.Fatal(err)
		}
		shot, err = chromedp.Run(c, chromedp.FullScreenshot(100)) // 100: PNG
	} else {
		shot, err = chromedp.Run(c, chromedp.Screenshot(sel, chromedp.NodeVisible))
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", sel, err)
	}
	if *screenshots && name != "" {
		dir := filepath.Join("..", "..", "docs", "screenshots")
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return shot
}

// scanShot decodes a screenshot with the project's scanner.
func scanShot(t *testing.T, shot []byte) string {
	t.Helper()
	raw, err := qr.DecodeReader(bytes.NewReader(shot), 0)
	if err != nil {
		t.Fatalf("the screenshot does not scan: %v", err)
	}
	text, err := qr.NormalizeScanned(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// verifyOnline verifies a presentation with the Go verifier and trust data
// synced from the service.
func verifyOnline(t *testing.T, s *service, text, purpose string) *verifier.Result {
	t.Helper()
	return verifier.Verify(text, verifier.Options{Trust: syncedTrust(t, s), Purpose: purpose, Now: time.Now()})
}

// mjpeg writes a fake camera video: frames of the image on a 640x480 scene.
func mjpeg(t *testing.T, path string, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	frame := image.NewRGBA(image.Rect(0, 0, 640, 480))
	draw.Draw(frame, frame.Bounds(), &image.Uniform{color.RGBA{200, 200, 190, 255}}, image.Point{}, draw.Src)
	b := img.Bounds()
	off := image.Pt((640-b.Dx())/2, (480-b.Dy())/2)
	draw.Draw(frame, b.Add(off).Sub(b.Min), img, b.Min, draw.Src)
	var out bytes.Buffer
	for range 30 {
		if err := jpeg.Encode(&out, frame, &jpeg.Options{Quality: 85}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserApps drives the wallet and verifier apps served by a real
// permitd in headless Chromium: the wallet accepts an offer and shows a live
// code that scans and verifies; the verifier verifies it from a chosen
// photo, offline after a reload with the service gone, refuses it for a
// credit loan, refuses it as revoked after a sync, and reaches a verdict
// from its camera.
func TestBrowserApps(t *testing.T) {
	chromium(t)
	bin := buildWithApps(t)
	dir := t.TempDir()
	s := startWithApps(t, bin, filepath.Join(dir, "var"), "127.0.0.1:0")
	if code, body := call(t, "GET", s.base+"/app/epermit.wasm", "", "", nil, nil); code != 200 {
		t.Fatalf("the apps are not built into permitd: %d %s", code, body[:min(len(body), 200)])
	}
	p := approved(t, s, 11)
	browser := newBrowser(t, "")

	// 1. The wallet accepts the offer and shows a live code.
	wallet := tab(t, browser)
	step(t, wallet, "open the wallet", chromedp.Navigate(s.base+"/wallet/?offer="+url.QueryEscape(p.Offer.URI)))
	poll(t, wallet, "the wallet to be ready", `document.body.dataset.ready === "true"`)
	poll(t, wallet, "the offer to be accepted", `(() => { const e = document.querySelector("#offer-status"); if (e && e.dataset.state === "error") throw new Error(e.textContent); return e && e.dataset.state === "done" })()`)
	poll(t, wallet, "the permit card", fmt.Sprintf(`!!document.querySelector('#permit-card[data-permit-no=%q]')`, p.Number))
	poll(t, wallet, "the live code", `!!document.querySelector("#qr svg") && !!(window.epermitWallet && window.epermitWallet.lastPresentation)`)
	shot := screenshot(t, wallet, "#qr", "")
	screenshot(t, wallet, "", "wallet.png")
	text := scanShot(t, shot)
	if onScreen := eval[string](t, wallet, `window.epermitWallet.lastPresentation`); onScreen != text {
		t.Fatalf("the code on screen is not the wallet's last presentation")
	}
	if r := verifyOnline(t, s, text, "residence-proof"); !r.Valid || !r.HolderBound || r.Claims.PermitNo != p.Number {
		t.Fatalf("the wallet's code does not verify: %+v", r.Reasons)
	}
	// It is live: the countdown runs and the code is re-signed.
	first := eval[string](t, wallet, `document.querySelector("#countdown").textContent`)
	poll(t, wallet, "the countdown to move", fmt.Sprintf(`document.querySelector("#countdown").textContent !== %q`, first))

	// An offer naming another site as its issuer is refused, and the held
	// permit stays.
	evil := strings.Replace(p.Offer.URI, url.QueryEscape(s.base), url.QueryEscape("https://issuer.example"), 1)
	if evil == p.Offer.URI {
		t.Fatal("could not rewrite the offer's issuer")
	}
	other := tab(t, browser)
	step(t, other, "open a foreign offer", chromedp.Navigate(s.base+"/wallet/?offer="+url.QueryEscape(evil)))
	poll(t, other, "the foreign offer to be refused", `(() => { const e = document.querySelector("#offer-status"); return !!e && e.dataset.state === "error" && e.textContent.includes("only") })()`)
	poll(t, other, "the held permit", fmt.Sprintf(`!!document.querySelector('#permit-card[data-permit-no=%q]')`, p.Number))

	// 2. The verifier verifies the code from a chosen photo.
	photo := filepath.Join(dir, "code.png")
	freshPhoto := func() {
		t.Helper()
		if err := os.WriteFile(photo, screenshot(t, wallet, "#qr", ""), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	verify := tab(t, browser)
	step(t, verify, "open the verifier", chromedp.Navigate(s.base+"/verify/"))
	poll(t, verify, "the verifier to be ready", `document.body.dataset.ready === "true"`)
	poll(t, verify, "the trust data", `/\d|刚刚|just/.test(document.querySelector("#data-age").textContent)`)
	scan := func(purpose string) (valid bool, text string) {
		t.Helper()
		freshPhoto()
		eval[bool](t, verify, fmt.Sprintf(`(() => { const s = document.querySelector("#purpose"); s.value = %q; s.dispatchEvent(new Event("change")); const v = document.querySelector("#verdict"); if (v) v.removeAttribute("data-valid"); return true })()`, purpose))
		step(t, verify, "choose the photo", chromedp.SetUploadFiles("#photo", []string{photo}))
		poll(t, verify, "a verdict", `(() => { const v = document.querySelector("#verdict"); return !!v && (v.dataset.valid === "true" || v.dataset.valid === "false") })()`)
		return eval[string](t, verify, `document.querySelector("#verdict").dataset.valid`) == "true",
			eval[string](t, verify, `document.querySelector("#verdict").textContent + " " + [...document.querySelectorAll("#reasons li")].map(l => l.dataset.code).join(" ")`)
	}
	if ok, got := scan("residence-proof"); !ok || !strings.Contains(got, "李明") {
		t.Fatalf("verifier: %v %q%s", ok, got, pageState(verify))
	}
	screenshot(t, verify, "", "verify-valid.png")

	// 5. A credit loan is refused, with the reason.
	if ok, got := scan("credit-loan"); ok || !strings.Contains(got, "purpose_refused") {
		t.Fatalf("credit-loan: %v %q", ok, got)
	}
	screenshot(t, verify, "", "verify-credit-loan.png")

	// 3. Offline: the service is gone; after a reload the verifier still works.
	addr := strings.TrimPrefix(s.base, "http://")
	s.stop()
	// The wallet too works with its site gone: reloaded, it shows the code.
	step(t, wallet, "reload the wallet offline", chromedp.Reload())
	poll(t, wallet, "the wallet to be ready offline", `document.body.dataset.ready === "true"`)
	poll(t, wallet, "the live code offline", `!!document.querySelector("#qr svg")`)
	if offline := scanShot(t, screenshot(t, wallet, "#qr", "")); offline == text {
		t.Fatal("the wallet showed the same presentation after a reload")
	}
	step(t, verify, "reload offline", chromedp.Reload())
	poll(t, verify, "the verifier to be ready offline", `document.body.dataset.ready === "true"`)
	if ok, got := scan("residence-proof"); !ok || !strings.Contains(got, "李明") {
		t.Fatalf("offline: %v %q%s", ok, got, pageState(verify))
	}
	if age := eval[string](t, verify, `document.querySelector("#data-age").textContent`); strings.TrimSpace(age) == "" {
		t.Fatal("offline: no age of the trust data on screen")
	}
	screenshot(t, verify, "", "verify-offline.png")

	// The service comes back and revokes; after a sync the same code is refused.
	s2 := startWithApps(t, bin, filepath.Join(dir, "var"), addr)
	s2.token = s.token
	mustCall(t, 200, "POST", s2.base+"/v1/permits/"+p.Number+"/revoke", s2.token, server.ReasonRequest{Reason: "left the city"}, nil)
	var rec server.PermitResponse
	mustCall(t, 200, "GET", s2.base+"/v1/permits/"+p.Number, s2.token, nil, &rec)
	if rec.State != issuer.PermitRevoked {
		t.Fatal("not revoked")
	}
	step(t, verify, "sync", chromedp.Click("#sync"))
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, got := scan("residence-proof")
		if !ok && strings.Contains(got, "revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the sync: %v %q", ok, got)
		}
		step(t, verify, "sync again", chromedp.Click("#sync"), chromedp.Sleep(500*time.Millisecond))
	}
	screenshot(t, verify, "", "verify-revoked.png")

	// 4. The camera: a fake capture device plays a video of the wallet's code.
	camera := filepath.Join(dir, "camera.mjpeg")
	mjpeg(t, camera, screenshot(t, wallet, "#qr", ""))
	cam := tab(t, newBrowser(t, camera))
	step(t, cam, "open the verifier", chromedp.Navigate(s2.base+"/verify/"))
	poll(t, cam, "the verifier to be ready", `document.body.dataset.ready === "true"`)
	poll(t, cam, "the trust data", `/\d|刚刚|just/.test(document.querySelector("#data-age").textContent)`)
	step(t, cam, "start the camera", chromedp.Click("#camera"))
	poll(t, cam, "a verdict from the camera", `(() => { const v = document.querySelector("#verdict"); return !!v && (v.dataset.valid === "true" || v.dataset.valid === "false") && v.textContent.includes("李明") })()`)
	screenshot(t, cam, "", "verify-camera.png")

	// The verification time in the browser, for docs/performance.md.
	ms := eval[float64](t, cam, fmt.Sprintf(`(async () => { const m = await window.epermitReady; const t0 = performance.now(); for (let i = 0; i < 50; i++) m.verify(%q, "residence-proof", Date.now()); return (performance.now() - t0) / 50 })()`, text))
	t.Logf("verification in the browser: %.2f ms each (50 runs)", ms)
}
