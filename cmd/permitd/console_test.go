package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/verifier"
	"github.com/epermit/epermit/wallet"
)

// portraitPNG is an ID photo for the tests: a face-coloured oval on blue.
func portraitPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 90, 120))
	for y := range 120 {
		for x := range 90 {
			c := color.RGBA{60, 110, 200, 255}
			if dx, dy := float64(x-45)/28, float64(y-55)/38; dx*dx+dy*dy < 1 {
				c = color.RGBA{236, 200, 170, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// submitted files the n-th person's application (with photo when given)
// and returns its id.
func submitted(t *testing.T, s *service, n int, photo []byte) string {
	t.Helper()
	body := application(t, n)
	if photo != nil {
		body["photo"] = photo
	}
	var a server.ApplicationResponse
	mustCall(t, 201, "POST", s.base+"/v1/applications", "", body, &a)
	return a.ID
}

// officialToken makes an official's token of the role with the admin token.
func officialToken(t *testing.T, s *service, role, name string) string {
	t.Helper()
	var tok server.TokenResponse
	mustCall(t, 201, "POST", s.base+"/v1/admin/tokens", s.token, map[string]string{"role": role, "name": name}, &tok)
	return tok.Secret
}

// consoleLogin logs into the console of the tab with a token, as an
// official pasting it, and checks that the page keeps it nowhere a script
// could read it.
func consoleLogin(t *testing.T, ctx context.Context, s *service, token string) {
	t.Helper()
	step(t, ctx, "open the console", chromedp.Navigate(s.base+"/officer/"))
	poll(t, ctx, "the login form", `document.body.dataset.ready === "true" && document.body.dataset.auth === "out" && !document.querySelector("#login").hidden`)
	step(t, ctx, "paste the token", chromedp.SetValue("#token", token), chromedp.Click(`#login-form button[type=submit]`))
	poll(t, ctx, "the session", `document.body.dataset.auth === "in"`)
	stored := eval[string](t, ctx, `(async () => JSON.stringify({cookie: document.cookie, local: {...localStorage}, session: {...sessionStorage},
		idb: indexedDB.databases ? (await indexedDB.databases()).map(d => d.name) : [], field: document.querySelector("#token").value}))()`)
	if strings.Contains(stored, token) || strings.Contains(stored, "ep_session") || strings.Contains(stored, "csrf") {
		t.Fatalf("the page keeps the token or the session where scripts read it: %s", stored)
	}
}

// fits checks that the page has no sideways scrolling at phone widths (320,
// the smallest, and 360, 390 and 412 px) and on a tablet (768 px), then
// returns to a phone width.
func fits(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	for _, w := range []int64{320, 360, 390, 412, 768} {
		step(t, ctx, "resize", chromedp.EmulateViewport(w, 860), chromedp.Sleep(150*time.Millisecond))
		if got := eval[string](t, ctx, `document.documentElement.scrollWidth + " " + window.innerWidth`); func() bool {
			var sw, iw int
			fmt.Sscan(got, &sw, &iw)
			return sw > iw
		}() {
			t.Errorf("%s at %d px scrolls sideways (scrollWidth, innerWidth = %s)", what, w, got)
		}
	}
	step(t, ctx, "resize", chromedp.EmulateViewport(390, 860))
}

// clickDialog confirms the console's dialog, typing reason when not empty.
func clickDialog(t *testing.T, ctx context.Context, reason string) {
	t.Helper()
	poll(t, ctx, "the dialog", `document.querySelector("#dialog").open`)
	if reason != "" {
		step(t, ctx, "type the reason", chromedp.SendKeys("#dialog-reason", reason))
	}
	step(t, ctx, "confirm", chromedp.Click("#dialog-ok"))
}

// offerOnScreen scans the offer QR the console shows and checks it against
// the link printed under it.
func offerOnScreen(t *testing.T, ctx context.Context) string {
	t.Helper()
	poll(t, ctx, "the offer QR", `!!document.querySelector("#offer-qr") && document.querySelector("#offer-qr").complete && document.querySelector("#offer-qr").naturalWidth > 0`)
	raw, err := qr.DecodeReader(bytes.NewReader(screenshot(t, ctx, "#offer-qr", "")), 0)
	if err != nil {
		t.Fatalf("the offer QR on screen does not scan: %v", err)
	}
	if link := eval[string](t, ctx, `document.querySelector("#offer-link").textContent`); string(raw) != link {
		t.Fatalf("the QR says %q, the link %q", raw, link)
	}
	if left := eval[string](t, ctx, `document.querySelector("#offer-countdown").dataset.seconds`); left == "" || left == "0" {
		t.Fatalf("no expiry countdown: %q", left)
	}
	return string(raw)
}

// TestConsole drives the officers' console of a real permitd in headless
// Chromium through a whole counter visit: login, the queue (with duplicate
// flags and paging), the application with its photo and conditions, the
// approval whose offer QR a wallet scans, a re-issue to a second phone that
// supersedes the first phone's credential, the portrait in the verifier for
// a police check, a refused action with the service's reason, revocation by
// a revoker found by citizen ID, and the audit log; at phone and tablet
// widths, in Chinese and English.
func TestConsole(t *testing.T) {
	chromium(t)
	dir := t.TempDir()
	bin := buildWithApps(t)
	s := startWithApps(t, bin, filepath.Join(dir, "var"), "127.0.0.1:0")
	officer := officialToken(t, s, "officer", "窗口民警王芳")
	revoker := officialToken(t, s, "revoker", "注销审批李强")
	auditor := officialToken(t, s, "auditor", "审计员赵敏")

	photo := portraitPNG(t)
	first := submitted(t, s, 1, photo)
	dup := submitted(t, s, 1, nil) // the same person again: flagged for the officer
	for n := 2; n <= 52; n++ {     // more than a page of the queue
		submitted(t, s, n, nil)
	}

	browser := newBrowser(t, "")
	ctx := tab(t, browser)
	step(t, ctx, "phone width", chromedp.EmulateViewport(390, 860))

	// The login page, in Chinese by default.
	step(t, ctx, "open the console", chromedp.Navigate(s.base+"/officer/"))
	poll(t, ctx, "the login form", `document.body.dataset.ready === "true" && !document.querySelector("#login").hidden`)
	if h := eval[string](t, ctx, `document.querySelector("h1").textContent`); h != "居住证窗口工作台" {
		t.Errorf("title %q", h)
	}
	fits(t, ctx, "the login page")
	screenshot(t, ctx, "", "officer-login.png")
	step(t, ctx, "a wrong token", chromedp.SetValue("#token", "ept_wrong"), chromedp.Click(`#login-form button[type=submit]`))
	poll(t, ctx, "the refusal", `!document.querySelector("#login-error").hidden && document.querySelector("#login-error").textContent.includes("令牌无效")`)

	// 1. Login and the queue: oldest first, eligible, the duplicate flagged, paged.
	consoleLogin(t, ctx, s, officer)
	poll(t, ctx, "the queue", `document.querySelectorAll("#queue > li").length === 50`)
	if got := eval[string](t, ctx, `document.querySelector("#queue > li").dataset.id`); got != first {
		t.Fatalf("the oldest application is not first: %s", got)
	}
	q := eval[string](t, ctx, `document.querySelector("#queue").innerText`)
	for _, want := range []string{"李明", "符合条件", "浙江省杭州市西湖区", "此人在本市另有待审申请"} {
		if !strings.Contains(q, want) {
			t.Errorf("the queue lacks %q", want)
		}
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#queue > li [data-code="other_pending"]').length`); n != 2 {
		t.Errorf("%d duplicate flags, want 2 (both applications of one person)", n)
	}
	fits(t, ctx, "the queue")
	// The first screenful only: the whole page of 50 is long.
	step(t, ctx, "a screenful of the queue", chromedp.EmulateViewport(390, 1100))
	eval[bool](t, ctx, `window.scrollTo(0, 0), true`)
	if *screenshots {
		shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		saveShot(t, "officer-queue.png", shot)
	}
	step(t, ctx, "phone width", chromedp.EmulateViewport(390, 860))
	step(t, ctx, "next page", chromedp.Click("#queue-next"))
	poll(t, ctx, "the second page", `document.querySelectorAll("#queue > li").length === 3 && document.querySelector("#queue-page").textContent.includes("第 2 页")`)
	step(t, ctx, "previous page", chromedp.Click("#queue-prev"))
	poll(t, ctx, "the first page again", `document.querySelectorAll("#queue > li").length === 50`)
	// Newest first.
	eval[bool](t, ctx, `(() => { const s = document.querySelector("#queue-order"); s.value = "newest"; s.dispatchEvent(new Event("change")); return true })()`)
	poll(t, ctx, "newest first", fmt.Sprintf(`document.querySelector("#queue > li") && document.querySelector("#queue > li").dataset.id !== %q`, first))
	eval[bool](t, ctx, `(() => { const s = document.querySelector("#queue-order"); s.value = "oldest"; s.dispatchEvent(new Event("change")); return true })()`)
	poll(t, ctx, "oldest first", fmt.Sprintf(`document.querySelector("#queue > li") && document.querySelector("#queue > li").dataset.id === %q`, first))

	// A request that changes something without the session's CSRF token is refused.
	csrf := eval[string](t, ctx, fmt.Sprintf(`fetch("/v1/applications/%s/approve", {method: "POST", credentials: "same-origin"}).then(r => r.json().then(b => r.status + " " + b.error))`, first))
	if csrf != "403 csrf" {
		t.Fatalf("approve without the CSRF header: %s", csrf)
	}

	// 2. The application: particulars, photo, conditions met, flags.
	step(t, ctx, "open the application", chromedp.Click(fmt.Sprintf(`#queue > li[data-id=%q] a.open`, first)))
	poll(t, ctx, "the application", fmt.Sprintf(`!!document.querySelector('#app-view[data-id=%q]')`, first))
	poll(t, ctx, "the photo", `!!document.querySelector("#photo") && document.querySelector("#photo").naturalWidth === 90`)
	view := eval[string](t, ctx, `document.querySelector("#app-view").innerText`)
	for _, want := range []string{citizenID(1), "汉族", "北京市朝阳区", "浙江省杭州市西湖区", "合法稳定就业", "第二条", "此人在本市另有待审申请"} {
		if !strings.Contains(view, want) {
			t.Errorf("the application view lacks %q:\n%s", want, view)
		}
	}
	if met := eval[string](t, ctx, `[...document.querySelectorAll("#conditions li")].map(l => l.dataset.code + "=" + l.dataset.met).join(" ")`); met != "not_left_household_city=true residence_under_six_months=true no_basis=true invalid_application=true" {
		t.Errorf("conditions %s", met)
	}
	checkRequirements(t, ctx)
	fits(t, ctx, "the application")
	screenshot(t, ctx, "", "officer-application.png")

	// English, with place names in English.
	step(t, ctx, "English", chromedp.Click("#lang"))
	poll(t, ctx, "English text", `document.querySelector("#approve").textContent === "Approve and issue" && document.querySelector("#app-view").innerText.includes("Xihu District, Hangzhou, Zhejiang")`)
	step(t, ctx, "Chinese", chromedp.Click("#lang"))
	poll(t, ctx, "Chinese text", `document.querySelector("#approve").textContent === "批准并签发"`)

	// 3. Approve: the offer QR appears large; a wallet scans it.
	step(t, ctx, "approve", chromedp.Click("#approve"))
	clickDialog(t, ctx, "")
	offer := offerOnScreen(t, ctx)
	fits(t, ctx, "the offer")
	screenshot(t, ctx, "", "officer-offer.png")
	// The printed page holds the offer alone.
	step(t, ctx, "print media", media("print"))
	if got := eval[string](t, ctx, `["header.bar", "#tabs", "#app-view", "#offer", "#offer-qr", "#offer-print"].map(s => document.querySelector(s).getClientRects().length > 0).join()`); got != "false,false,false,true,true,false" {
		t.Errorf("printed, the page shows (header, tabs, application, offer, QR, print button) %s", got)
	}
	step(t, ctx, "screen media", media(""))
	no := eval[string](t, ctx, `decodeURIComponent(document.querySelector("#offer-permit").getAttribute("href").replace("#/permit/", ""))`)
	w1, err := wallet.Init(filepath.Join(dir, "phone1"))
	if err != nil {
		t.Fatal(err)
	}
	e1, err := w1.Accept(context.Background(), offer, nil, time.Now(), wallet.TrustedIssuers(syncedTrust(t, s).Store().List()))
	if err != nil {
		t.Fatalf("the first phone takes the offer: %v", err)
	}
	if e1.PermitNo != no {
		t.Fatalf("the wallet holds %s, the console approved %s", e1.PermitNo, no)
	}

	// 4. The permit: one credential, current; re-issue to a second phone.
	step(t, ctx, "open the permit", chromedp.Click("#offer-permit"))
	poll(t, ctx, "the permit", fmt.Sprintf(`!!document.querySelector('#permit-view[data-number=%q]') && document.querySelector("#permit-state").dataset.state === "active"`, no))
	poll(t, ctx, "the credential", `[...document.querySelectorAll("#credentials li")].map(l => l.dataset.status).join() === "current"`)
	if n := eval[int](t, ctx, `document.querySelectorAll("#act-revoke").length`); n != 0 {
		t.Error("an officer is offered revocation, a revoker's action")
	}
	step(t, ctx, "re-issue", chromedp.Click("#act-reissue"))
	clickDialog(t, ctx, "")
	offer2 := offerOnScreen(t, ctx)
	if offer2 == offer {
		t.Fatal("the re-issue shows the first offer again")
	}
	w2, err := wallet.Init(filepath.Join(dir, "phone2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Accept(context.Background(), offer2, nil, time.Now(), wallet.TrustedIssuers(syncedTrust(t, s).Store().List())); err != nil {
		t.Fatalf("the second phone takes the re-issue: %v", err)
	}
	step(t, ctx, "reload the permit", chromedp.Reload())
	poll(t, ctx, "both credentials", `[...document.querySelectorAll("#credentials li")].map(l => l.dataset.n + l.dataset.status).join() === "2current,1superseded"`)

	// The first phone's code is refused as superseded, the second's accepted.
	old, err := w1.Present(no, wallet.Request{Purpose: "residence-proof", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if r := verifyOnline(t, s, old, "residence-proof"); r.Valid || !hasReason(r, verifier.CodeSuperseded) {
		t.Fatalf("the first phone's code after the re-issue: valid %v, %+v", r.Valid, r.Reasons)
	}
	current, err := w2.Present(no, wallet.Request{Purpose: "police-check", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if r := verifyOnline(t, s, current, "police-check"); !r.Valid {
		t.Fatalf("the second phone's code: %+v", r.Reasons)
	}

	// 5. The portrait in the verifier, for a police check, under the
	// officer's console session (the same browser).
	verify := tab(t, browser)
	step(t, verify, "phone width", chromedp.EmulateViewport(390, 860))
	step(t, verify, "open the verifier", chromedp.Navigate(s.base+"/verify/"))
	poll(t, verify, "the verifier", `document.body.dataset.ready === "true" && /\d|刚刚|just/.test(document.querySelector("#data-age").textContent)`)
	check := func(purpose, code string) {
		t.Helper()
		eval[bool](t, verify, fmt.Sprintf(`(() => { const s = document.querySelector("#purpose"); s.value = %q; s.dispatchEvent(new Event("change"));
			window.epermitVerifier.verify(%q); return true })()`, purpose, code))
	}
	// The browser verifier too refuses the first phone's code as superseded.
	check("residence-proof", old)
	poll(t, verify, "the superseded code refused", `document.querySelector("#verdict").dataset.valid === "false" && !!document.querySelector('#reasons li[data-code="superseded"]')`)
	check("police-check", current)
	poll(t, verify, "the checked portrait", `document.querySelector("#portrait").dataset.state === "ok" && document.querySelector("#portrait-img").naturalWidth === 90`)
	if v := eval[string](t, verify, `document.querySelector("#verdict").dataset.valid`); v != "true" {
		t.Fatalf("verdict %s", v)
	}
	poll(t, verify, "places and groups by name", `document.querySelector('#fields dd[data-field=region]').textContent === "浙江省杭州市西湖区" && document.querySelector('#fields dd[data-field=ethnicity]').textContent === "汉族"`)
	fits(t, verify, "the verifier with a portrait")
	screenshot(t, verify, "", "verify-portrait.png")
	// Not for a purpose that does not identify the holder.
	check("residence-proof", current)
	poll(t, verify, "no portrait", `document.querySelector("#portrait").hidden`)
	// A photo whose digest differs is never shown.
	eval[bool](t, verify, `(() => { const f = window.realFetch = window.fetch; window.fetch = (u, o) => String(u).includes("/photo") ?
		Promise.resolve(new Response(new Uint8Array([137, 80, 78, 71, 1, 2, 3]), {headers: {"Content-Type": "image/png"}})) : f(u, o); return true })()`)
	check("police-check", current)
	poll(t, verify, "the refused portrait", `document.querySelector("#portrait").dataset.state === "mismatch" && document.querySelector("#portrait-img").hidden && !document.querySelector("#portrait-img").getAttribute("src") && document.querySelector("#verdict").textContent.includes("不符")`)
	// Offline: the verdict says the portrait could not be checked.
	eval[bool](t, verify, `(() => { window.fetch = () => Promise.reject(new TypeError("offline")); return true })()`)
	check("residence-proof", current)
	check("police-check", current)
	poll(t, verify, "the offline portrait", `document.querySelector("#portrait").dataset.state === "offline" && document.querySelector("#verdict").textContent.includes("无法获取并核对持证人照片")`)
	screenshot(t, verify, "", "verify-portrait-offline.png")

	// 6. A refused action shows the service's reason: an officer cannot
	// reinstate (role), and the endorsement window is not open.
	step(t, ctx, "endorse too early", chromedp.Click("#act-endorse"))
	clickDialog(t, ctx, "")
	poll(t, ctx, "the refusal", `!document.querySelector("#action-error").hidden && document.querySelector("#action-error").dataset.code !== ""`)
	t.Logf("early endorsement refused: %s", eval[string](t, ctx, `document.querySelector("#action-error").textContent`))

	// 7. Logout; the revoker finds the permit by citizen ID and revokes it.
	step(t, ctx, "log out", chromedp.Click("#logout"))
	poll(t, ctx, "logged out", `document.body.dataset.auth === "out" && !document.querySelector("#login").hidden`)
	if code := eval[int](t, ctx, `fetch("/v1/session").then(r => r.status)`); code != 401 {
		t.Fatalf("the session outlives logout: %d", code)
	}
	// Without a session the verifier shows no photo, and says to log in.
	eval[bool](t, verify, `(() => { window.fetch = window.realFetch; return true })()`)
	check("residence-proof", current)
	check("police-check", current)
	poll(t, verify, "the portrait without a session", `document.querySelector("#portrait").dataset.state === "login" && document.querySelector("#portrait-img").hidden`)
	consoleLogin(t, ctx, s, revoker)
	step(t, ctx, "search", chromedp.Navigate(s.base+"/officer/#/search"))
	poll(t, ctx, "the search form", `!!document.querySelector("#search-form")`)
	eval[bool](t, ctx, `(() => { const s = document.querySelector("#search-by"); s.value = "citizen_id"; s.dispatchEvent(new Event("change")); return true })()`)
	step(t, ctx, "type the citizen ID", chromedp.SendKeys("#search-value", citizenID(1)), chromedp.Click(`#search-form button[type=submit]`))
	// The person's permit and the other application they filed.
	poll(t, ctx, "the hits", fmt.Sprintf(`[...document.querySelectorAll("#hits li")].map(l => l.dataset.kind + ":" + l.dataset.id).sort().join() === %q`,
		"application:"+dup+",permit:"+no))
	step(t, ctx, "open the permit", chromedp.Click(`#hits li[data-kind=permit] a`))
	poll(t, ctx, "the permit found", fmt.Sprintf(`!!document.querySelector('#permit-view[data-number=%q]')`, no))
	if strings.Contains(eval[string](t, ctx, `location.href`), citizenID(1)) {
		t.Fatal("the citizen ID is in the URL")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#act-reissue, #act-endorse").length`); n != 0 {
		t.Error("a revoker is offered an officer's actions")
	}
	// Reinstating an active permit is refused with the service's words.
	step(t, ctx, "reinstate", chromedp.Click("#act-reinstate"))
	clickDialog(t, ctx, "核对")
	poll(t, ctx, "the refusal", `document.querySelector("#action-error").dataset.code === "permit_active" && document.querySelector("#action-error").textContent.includes("不能恢复")`)
	// Revocation needs a reason and a confirmation.
	step(t, ctx, "revoke", chromedp.Click("#act-revoke"))
	poll(t, ctx, "the dialog", `document.querySelector("#dialog").open`)
	step(t, ctx, "confirm without a reason", chromedp.Click("#dialog-ok"))
	poll(t, ctx, "the reason asked for", `!document.querySelector("#dialog-error").hidden && document.querySelector("#dialog").open`)
	step(t, ctx, "type the reason", chromedp.SendKeys("#dialog-reason", "已离开本市"), chromedp.Click("#dialog-ok"))
	poll(t, ctx, "revoked", `document.querySelector("#permit-state").dataset.state === "revoked" && [...document.querySelectorAll("#credentials li")].map(l => l.dataset.status).join() === "revoked,superseded"`)
	fits(t, ctx, "the permit")
	screenshot(t, ctx, "", "officer-permit-revoked.png")
	if r := verifyOnline(t, s, current, "police-check"); r.Valid || !hasReason(r, verifier.CodeRevoked) {
		t.Fatalf("the second phone's code after revocation: %+v", r.Reasons)
	}
	var rec server.PermitResponse
	mustCall(t, 200, "GET", s.base+"/v1/permits/"+no, s.token, nil, &rec)
	if rec.State != "revoked" {
		t.Fatalf("state %s", rec.State)
	}

	// 8. The auditor reads the log: photo reads are in it.
	step(t, ctx, "log out", chromedp.Click("#logout"))
	poll(t, ctx, "logged out", `document.body.dataset.auth === "out"`)
	consoleLogin(t, ctx, s, auditor)
	poll(t, ctx, "the audit tab", `!document.querySelector("#tab-audit").hidden`)
	step(t, ctx, "the audit log", chromedp.Click("#tab-audit"))
	poll(t, ctx, "entries", `document.querySelectorAll("#audit-entries li").length > 50`)
	eval[bool](t, ctx, `(() => { const s = document.querySelector("#audit-action"); s.value = "photo.read"; s.dispatchEvent(new Event("change")); return true })()`)
	poll(t, ctx, "photo reads", fmt.Sprintf(`(() => { const l = [...document.querySelectorAll("#audit-entries li")]; return l.length >= 2 && l.every(e => e.dataset.action === "photo.read") && l.some(e => e.textContent.includes(%q)) })()`, no))
	// The application's photo was read once, though its screen was drawn
	// again in English and back.
	if n := eval[int](t, ctx, fmt.Sprintf(`[...document.querySelectorAll("#audit-entries li")].filter(e => e.textContent.includes("application:%s")).length`, first)); n != 1 {
		t.Errorf("the application's photo was read %d times, want 1", n)
	}
	fits(t, ctx, "the audit log")
	screenshot(t, ctx, "", "officer-audit.png")

	// The idle timeout is on screen, and when it runs out the login shows.
	if idle := eval[int](t, ctx, `+document.querySelector("#idle").dataset.seconds`); idle < 840 || idle > 900 {
		t.Errorf("idle countdown %d s, want about 900", idle)
	}
	eval[bool](t, ctx, `(window.epermitOfficer.state.deadline = Date.now() - 1, true)`)
	poll(t, ctx, "the session ended", `document.body.dataset.auth === "out" && document.querySelector("#notice").textContent.includes("登录已失效") && document.querySelector("#view").childElementCount === 0`)

	// The duplicate application is still pending, now flagged as holding a
	// (revoked) permit's past.
	var app map[string]any
	mustCall(t, 200, "GET", s.base+"/v1/applications/"+dup, s.token, nil, &app)
	if app["state"] != "pending" {
		t.Errorf("the duplicate application: %v", app["state"])
	}
}

// media emulates a CSS media type ("" for the screen).
func media(kind string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: kind})
		return chromedp.Void{}, err
	}
}

// saveShot writes a screenshot into docs/screenshots.
func saveShot(t *testing.T, name string, shot []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// hasReason reports whether a verification was refused for code.
func hasReason(r *verifier.Result, code verifier.Code) bool {
	for _, x := range r.Reasons {
		if x.Code == code {
			return true
		}
	}
	return false
}

// checkRequirements compares the console's checklist of conditions with the
// words package permit gives each unmet condition.
func checkRequirements(t *testing.T, ctx context.Context) {
	t.Helper()
	var reqs []struct{ Code, Article, ZH, EN string }
	if err := json.Unmarshal([]byte(eval[string](t, ctx, `JSON.stringify(window.epermitOfficer.requirements)`)), &reqs); err != nil {
		t.Fatal(err)
	}
	data := application(t, 3)["application"]
	raw, _ := json.Marshal(data)
	base, err := permit.ParseApplication(raw)
	if err != nil {
		t.Fatal(err)
	}
	today := permit.DateOf(time.Now(), permit.ChinaTime())
	sameCity, recent, noBasis := base, base, base
	sameCity.HouseholdDivision = "330102"
	recent.ResidenceSince = today.AddMonths(-1)
	noBasis.Basis = []permit.BasisClaim{{Kind: permit.BasisEmployment, Evidence: " "}}
	unmet := map[string]permit.Condition{}
	for _, a := range []permit.Application{sameCity, recent, noBasis} {
		for _, c := range permit.Decide(a, today).Unmet {
			unmet[c.Code] = c
		}
	}
	articles := map[string]string{"Art. 2": "第二条", "Art. 4": "第四条", "Art. 9": "第九条"}
	checked := 0
	for _, r := range reqs {
		c, ok := unmet[r.Code]
		if !ok {
			continue
		}
		checked++
		if c.ZH != "未满足："+r.ZH+"（"+articles[r.Article]+"）" || c.EN != "Not met: "+r.EN+" ("+r.Article+")" {
			t.Errorf("the console's condition %s differs from package permit's: %q / %q, %q / %q", r.Code, r.ZH, c.ZH, r.EN, c.EN)
		}
	}
	if checked < 3 {
		t.Errorf("only %d conditions compared: %v", checked, unmet)
	}
}
