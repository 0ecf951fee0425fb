package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/verifier"
	"github.com/epermit/epermit/wallet"
)

// clockAhead makes every page the tab loads from now on see its clock d
// ahead (Date, and so Go's time.Now in the WebAssembly module), as on a
// phone a year after its permit was issued. The issuer's clock is not
// moved: the wallet dates its proofs by the issuer's (its Date header).
func clockAhead(d time.Duration) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(`(() => {
  const ahead = %d, Real = Date;
  function Shifted(...a) {
    if (!new.target) return new Real(Real.now() + ahead).toString();
    return a.length ? new Real(...a) : new Real(Real.now() + ahead);
  }
  Shifted.prototype = Real.prototype;
  Shifted.now = () => Real.now() + ahead;
  Shifted.parse = Real.parse;
  Shifted.UTC = Real.UTC;
  globalThis.Date = Shifted;
})();`, d.Milliseconds())})
		return chromedp.Void{}, err
	}
}

// walletState is the card's status and standing, the standing's words and
// the status line, for a failure message.
const walletState = `(() => { const c = document.querySelector("#permit-card"); return c.dataset.status + " " + c.dataset.standing + " | " +
	document.querySelector("#standing").textContent + " | " + document.querySelector("#status-line").textContent })()`

// waitStanding waits until the wallet's card shows status and standing.
func waitStanding(t *testing.T, ctx context.Context, status, standing string) {
	t.Helper()
	poll(t, ctx, status+" "+standing, fmt.Sprintf(`(() => { const c = document.querySelector("#permit-card");
		return !c.hidden && c.dataset.status === %q && c.dataset.standing === %q && !document.querySelector("#status-line").dataset.checking })()`, status, standing))
}

// checkNow asks the wallet to check the status again and waits for it.
func checkNow(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[bool](t, ctx, `window.epermitWallet.checkStatus().then(() => true)`)
}

// pageText is the page's visible text.
func pageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, `document.body.innerText`)
}

// expectText checks that the page says every one of want.
func expectText(t *testing.T, ctx context.Context, what string, want ...string) {
	t.Helper()
	got := pageText(t, ctx)
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: the page does not say %q:\n%s", what, w, got)
		}
	}
}

// phoneFits checks that the app has no sideways scrolling at the phone
// widths of the tests (360, 390 and 412 px), then returns to 390 px.
func phoneFits(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	for _, w := range []int64{360, 390, 412} {
		step(t, ctx, "resize", chromedp.EmulateViewport(w, 860), chromedp.Sleep(150*time.Millisecond))
		var sw, iw int
		fmt.Sscan(eval[string](t, ctx, `document.documentElement.scrollWidth + " " + window.innerWidth`), &sw, &iw)
		if sw > iw {
			wide := eval[string](t, ctx, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5).slice(0, 5).map(e => e.tagName + "#" + e.id + "." + e.className).join(" ")`)
			t.Errorf("%s at %d px scrolls sideways (scrollWidth %d, innerWidth %d): %s", what, w, sw, iw, wide)
		}
	}
	step(t, ctx, "resize", chromedp.EmulateViewport(390, 860))
}

// TestBrowserWalletStatus drives the web wallet of a real permitd in
// headless Chromium through its permit's life: valid and checked, suspended
// and reinstated, the endorsement window (the update button, nothing newer
// yet), an endorsement (a bulk job run while the service is stopped)
// fetched with the button and replacing the credential in place, a
// re-issue to another phone (superseded: no code, the refresh refused with
// the reason), and, in a second browser, a revoked permit and the service
// gone (offline since). Both apps fit phones of 360 to 412 px; the
// screenshots are at 390 px.
func TestBrowserWalletStatus(t *testing.T) {
	chromium(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "var")
	bin := buildWithApps(t)
	s := startWithApps(t, bin, data, "127.0.0.1:0")
	revoker := officialToken(t, s, "revoker", "注销审批李强")
	officer := officialToken(t, s, "officer", "窗口民警王芳")
	p := approved(t, s, 51)
	browser := newBrowser(t, "")

	// 1. Received and checked: valid, the place by name, when checked.
	w := tab(t, browser)
	step(t, w, "phone width", chromedp.EmulateViewport(390, 860))
	step(t, w, "open the wallet", chromedp.Navigate(s.base+"/wallet/?offer="+url.QueryEscape(p.Offer.URI)))
	poll(t, w, "the wallet to be ready", `document.body.dataset.ready === "true"`)
	poll(t, w, "the offer to be accepted", `(() => { const e = document.querySelector("#offer-status"); if (e && e.dataset.state === "error") throw new Error(e.textContent); return e && e.dataset.state === "done" })()`)
	waitStanding(t, w, "valid", "valid")
	poll(t, w, "the live code", `!!document.querySelector("#qr svg") && !!window.epermitWallet.lastPresentation`)
	expectText(t, w, "valid", "浙江省杭州市西湖区", "状态：有效（", "查询，刚刚）", "年度签注期自")
	if d := eval[string](t, w, `document.querySelector('[data-field="expires"]').textContent`); d != p.ValidUntil.String() {
		t.Errorf("valid until %q on the card, want %s", d, p.ValidUntil)
	}
	if eval[bool](t, w, `!document.querySelector("#refresh").hidden`) {
		t.Error("the update button shows for a permit far from its endorsement")
	}
	phoneFits(t, w, "the wallet")
	step(t, w, "English", chromedp.Click("#lang"))
	poll(t, w, "English", `document.querySelector("#standing-title").textContent === "Valid"`)
	expectText(t, w, "valid, in English", "Xihu District, Hangzhou, Zhejiang", "Status: valid (checked ", "The endorsement window opens on")
	phoneFits(t, w, "the wallet in English")
	step(t, w, "Chinese", chromedp.Click("#lang"))

	// The verifier app fits too, with a verdict on screen.
	v := tab(t, browser)
	step(t, v, "open the verifier", chromedp.Navigate(s.base+"/verify/"))
	poll(t, v, "the verifier", `document.body.dataset.ready === "true" && /\d|刚刚|just/.test(document.querySelector("#data-age").textContent)`)
	phoneFits(t, v, "the verifier")
	eval[bool](t, v, fmt.Sprintf(`(window.epermitVerifier.verify(%q), true)`, eval[string](t, w, `window.epermitWallet.lastPresentation`)))
	poll(t, v, "a verdict", `document.querySelector("#verdict").dataset.valid === "true"`)
	phoneFits(t, v, "the verifier with a verdict")

	// 2. Suspended: said, with what to do; the code stays, with a warning.
	mustCall(t, 200, "POST", s.base+"/v1/permits/"+p.Number+"/suspend", revoker, server.ReasonRequest{Reason: "核查居住情况"}, nil)
	checkNow(t, w)
	waitStanding(t, w, "suspended", "suspended")
	expectText(t, w, "suspended", "已暂停使用", "直到签发机关恢复", "出示时会被核验拒绝")
	if !eval[bool](t, w, `!!document.querySelector("#qr svg") && !document.querySelector("#code-warning").hidden`) {
		t.Errorf("a suspended permit's code, with its warning: %s", eval[string](t, w, walletState))
	}
	phoneFits(t, w, "the suspended permit")
	screenshot(t, w, "", "wallet-suspended.png")
	mustCall(t, 200, "POST", s.base+"/v1/permits/"+p.Number+"/reinstate", revoker, server.ReasonRequest{Reason: "核查无误"}, nil)
	checkNow(t, w)
	waitStanding(t, w, "valid", "valid")

	// 3. The endorsement window, on a phone whose clock says so: the
	// update button; the issuer has nothing newer yet.
	opens := p.ValidUntil.AddMonths(-1)
	ahead := time.Until(time.Date(opens.Year, opens.Month, opens.Day, 12, 0, 0, 0, permit.ChinaTime()).AddDate(0, 0, 5))
	later := tab(t, browser)
	step(t, later, "the clock 11 months on", clockAhead(ahead))
	step(t, later, "phone width", chromedp.EmulateViewport(390, 860))
	step(t, later, "open the wallet", chromedp.Navigate(s.base+"/wallet/"))
	poll(t, later, "the wallet to be ready", `document.body.dataset.ready === "true"`)
	waitStanding(t, later, "valid", "endorsement_due")
	expectText(t, later, "due", "请办理年度签注", "前到签发机关窗口办理签注", "更新居住证")
	step(t, later, "update", chromedp.Click("#refresh"))
	poll(t, later, "the answer", `document.querySelector("#refresh-status").dataset.state === "up_to_date"`)
	expectText(t, later, "not endorsed yet", "尚未签注，电子居住证已是最新")
	phoneFits(t, later, "the permit due for endorsement")
	screenshot(t, later, "", "wallet-endorsement-due.png")

	// 4. Endorsed in a bulk job, with the service stopped; the button
	// fetches the endorsed credential, which replaces the one held.
	addr := strings.TrimPrefix(s.base, "http://")
	s.stop()
	list := filepath.Join(dir, "endorse.csv")
	if err := os.WriteFile(list, []byte("permit_no\n"+p.Number+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	realNow := now
	now = func() time.Time { return time.Now().Add(ahead) }
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"endorse", "--data", data, "--from", list}, &out, &errs, nil)
	now = realNow
	if code != 0 || !strings.Contains(out.String(), "1 endorsed") {
		t.Fatalf("permitd endorse: %d %s %s", code, out.String(), errs.String())
	}
	token := s.token
	s = startWithApps(t, bin, data, addr)
	s.token = token // the administrator's, made on the first start
	step(t, later, "update", chromedp.Click("#refresh"))
	poll(t, later, "the new credential", `document.querySelector("#refresh-status").dataset.state === "refreshed"`)
	endorsed := p.ValidUntil.AddMonths(12).String()
	waitStanding(t, later, "valid", "valid")
	expectText(t, later, "refreshed", "已更新：电子居住证有效期至 "+endorsed, "状态：有效（")
	if d := eval[string](t, later, `document.querySelector('[data-field="expires"]').textContent`); d != endorsed {
		t.Errorf("valid until %q after the update, want %s", d, endorsed)
	}
	if eval[bool](t, later, `!document.querySelector("#refresh").hidden`) {
		t.Error("the update button still shows after the update")
	}
	if n := eval[int](t, later, `window.epermitWallet.state.creds.length`); n != 1 {
		t.Errorf("%d permits held after the update, want the one replaced in place", n)
	}
	screenshot(t, later, "", "wallet-refreshed.png")
	// On the phone's own clock the new credential's code verifies.
	step(t, w, "reload", chromedp.Reload())
	poll(t, w, "the wallet to be ready", `document.body.dataset.ready === "true"`)
	poll(t, w, "the new credential's code", fmt.Sprintf(`document.querySelector('[data-field="expires"]').textContent === %q && !!window.epermitWallet.lastPresentation`, endorsed))
	if r := verifyOnline(t, s, eval[string](t, w, `window.epermitWallet.lastPresentation`), "residence-proof"); !r.Valid {
		t.Fatalf("the refreshed credential's code: %+v", r.Reasons)
	}

	// 5. Re-issued to another phone: this one's credential is superseded,
	// no code; its update is refused with the reason.
	var re server.PermitResponse
	mustCall(t, 201, "POST", s.base+"/v1/permits/"+p.Number+"/offers", officer, nil, &re)
	other, err := wallet.Init(filepath.Join(dir, "phone2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Accept(context.Background(), re.Offer.URI, nil, time.Now(), wallet.TrustedIssuers(syncedTrust(t, s).Store().List())); err != nil {
		t.Fatal(err)
	}
	old := eval[string](t, w, `window.epermitWallet.lastPresentation`)
	if r := verifyOnline(t, s, old, "residence-proof"); r.Valid || !hasReason(r, verifier.CodeSuperseded) {
		t.Fatalf("the old phone's code after the re-issue: %+v", r.Reasons)
	}
	checkNow(t, w)
	waitStanding(t, w, "superseded", "superseded")
	poll(t, w, "no code", `document.querySelector("#qr-card").hidden && !window.epermitWallet.lastPresentation && !document.querySelector("#no-code").hidden && document.querySelector("#present-controls").hidden`)
	expectText(t, w, "superseded", "已被新证照取代", "不显示二维码：此居住证已被新证照取代，核验时会被拒绝", "请用持有新证照的手机出示", "到窗口申请补发")
	step(t, w, "update", chromedp.Click("#refresh"))
	poll(t, w, "the refusal", `document.querySelector("#refresh-status").dataset.state === "error"`)
	expectText(t, w, "refresh refused", "更新失败：签发机关未接受本设备的密钥证明")
	phoneFits(t, w, "the superseded permit")
	screenshot(t, w, "", "wallet-superseded.png")
	step(t, w, "English", chromedp.Click("#lang"))
	poll(t, w, "English", `document.querySelector("#standing-title").textContent === "Superseded"`)
	expectText(t, w, "superseded, in English", "No code is shown: the permit is superseded and verifiers refuse it", "This credential was replaced by a newer one", "Not updated: The issuer did not accept this device's proof", "Status: superseded (checked")
	step(t, w, "Chinese", chromedp.Click("#lang"))

	// 6. Revoked, in a browser of its own; then the service is gone.
	q := approved(t, s, 52)
	r := tab(t, newBrowser(t, ""))
	step(t, r, "phone width", chromedp.EmulateViewport(390, 860))
	step(t, r, "open the wallet", chromedp.Navigate(s.base+"/wallet/?offer="+url.QueryEscape(q.Offer.URI)))
	poll(t, r, "the offer to be accepted", `(() => { const e = document.querySelector("#offer-status"); if (e && e.dataset.state === "error") throw new Error(e.textContent); return e && e.dataset.state === "done" })()`)
	waitStanding(t, r, "valid", "valid")
	mustCall(t, 200, "POST", s.base+"/v1/permits/"+q.Number+"/revoke", revoker, server.ReasonRequest{Reason: "已离开本市"}, nil)
	checkNow(t, r)
	waitStanding(t, r, "revoked", "revoked")
	poll(t, r, "no code", `document.querySelector("#qr-card").hidden && !window.epermitWallet.lastPresentation && document.querySelector("#refresh").hidden`)
	expectText(t, r, "revoked", "已注销", "此居住证已被签发机关注销，不能再出示", "如仍符合条件，可重新申领", "状态：已注销（")
	phoneFits(t, r, "the revoked permit")
	screenshot(t, r, "", "wallet-revoked.png")
	s.stop()
	step(t, r, "reload offline", chromedp.Reload())
	poll(t, r, "the wallet to be ready offline", `document.body.dataset.ready === "true"`)
	checkNow(t, r)
	waitStanding(t, r, "revoked", "revoked")
	expectText(t, r, "offline", "状态：已注销（截至 ", "此后离线，未能查询）", "浙江省杭州市西湖区")
}
