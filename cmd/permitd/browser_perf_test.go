package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/wallet"
)

// TestBrowserFirstVerification measures, for docs/performance.md, how long
// the verifier app takes in headless Chromium from navigation start to its
// first verdict on a fresh profile (nothing cached: the module is fetched,
// compiled and started, the trust data synced), and how long its decoder
// takes per camera frame. It logs the numbers and asserts no time: the
// machine is shared.
//
//	go test -count=1 -run TestBrowserFirstVerification -v ./cmd/permitd/
func TestBrowserFirstVerification(t *testing.T) {
	chromium(t)
	bin := buildWithApps(t)
	dir := t.TempDir()
	s := startWithApps(t, bin, filepath.Join(dir, "var"), "127.0.0.1:0")
	p := approved(t, s, 31)
	w, err := wallet.Init(filepath.Join(dir, "phone"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Accept(context.Background(), p.Offer.URI, nil, time.Now(), wallet.TrustedIssuers(syncedTrust(t, s).Store().List())); err != nil {
		t.Fatal(err)
	}
	text, err := w.Present("", wallet.Request{Purpose: "residence-proof", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	packed, err := qr.Pack(text) // what the scanner reads
	if err != nil {
		t.Fatal(err)
	}
	code, err := qr.EncodePresentation(text, true, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	var codePNG bytes.Buffer
	if err := png.Encode(&codePNG, code.Image(4)); err != nil {
		t.Fatal(err)
	}

	page := tab(t, newBrowser(t, ""))
	step(t, page, "open the verifier", chromedp.Navigate(s.base+"/verify/"))
	// In the page, from the load event on: wait for the app to be ready
	// (polling every 5 ms), verify the code as a scan would, and report the
	// times since navigation start.
	type first struct {
		Ready, Verdict, WasmBytes, WasmTransfer float64
		Encoding                                string
		Valid                                   bool
		Timeline                                string
	}
	f := eval[first](t, page, fmt.Sprintf(`(async () => {
		while (document.body.dataset.ready !== "true") {
			if (document.body.dataset.ready === "error") throw new Error("the app did not start");
			await new Promise((r) => setTimeout(r, 5));
		}
		const ready = performance.now();
		window.epermitVerifier.verify(%q);
		const verdict = performance.now();
		const v = document.querySelector("#verdict");
		const mod = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/app/epermit.wasm"));
		const res = await fetch("/app/epermit.wasm", { method: "HEAD" });
		return { Ready: ready, Verdict: verdict, Valid: !!v && v.dataset.valid === "true",
			WasmBytes: mod ? mod.decodedBodySize : 0, WasmTransfer: mod ? mod.encodedBodySize : 0,
			Encoding: res.headers.get("content-encoding") || "identity",
			Timeline: performance.getEntriesByType("resource").filter((e) => e.startTime < ready)
				.map((e) => new URL(e.name).pathname + " " + e.startTime.toFixed(0) + "-" + e.responseEnd.toFixed(0)).join(", ") };
	})()`, packed))
	if !f.Valid {
		t.Fatalf("the first verdict is not valid%s", pageState(page))
	}
	t.Logf("fresh profile: app ready %.0f ms after navigation start, first verdict at %.0f ms (module %.0f bytes, %.0f on the wire, %s)",
		f.Ready, f.Verdict, f.WasmBytes, f.WasmTransfer, f.Encoding)
	t.Logf("requests before it was ready (start-end, ms since navigation start): %s", f.Timeline)

	// The decoder per camera frame: the code (4 pixels a module) in a
	// 640x480 and a 1280x720 frame, decoded as the camera loop does.
	for _, size := range [][2]int{{640, 480}, {1280, 720}} {
		ms := eval[float64](t, page, fmt.Sprintf(`(async () => {
			const m = await window.epermitReady;
			const img = new Image();
			img.src = "data:image/png;base64,%s";
			await img.decode();
			const c = document.createElement("canvas");
			c.width = %d; c.height = %d;
			const g = c.getContext("2d", { willReadFrequently: true });
			g.fillStyle = "#c8c8be"; g.fillRect(0, 0, c.width, c.height);
			g.drawImage(img, (c.width - img.width) / 2, (c.height - img.height) / 2);
			const runs = 10;
			const t0 = performance.now();
			for (let i = 0; i < runs; i++) {
				const d = g.getImageData(0, 0, c.width, c.height);
				const r = m.decodeImage(d.data, c.width, c.height, 1000);
				if (!r.ok || r.text !== %q) throw new Error("frame not decoded: " + (r.error || r.text));
			}
			return (performance.now() - t0) / runs;
		})()`, base64.StdEncoding.EncodeToString(codePNG.Bytes()), size[0], size[1], packed))
		t.Logf("camera frame %dx%d: %.1f ms to read and decode (10 runs)", size[0], size[1], ms)
	}
}
