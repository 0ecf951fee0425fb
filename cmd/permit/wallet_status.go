package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/trustcache"
	"github.com/epermit/epermit/wallet"
)

// The wallet commands speak to residents: every error they end with is
// told in Chinese and English (residentError), and the state of each
// permit with what to do about it (statusLines). Dates are YYYY-MM-DD and
// times hh:mm, China time, in both languages.

// cliTexts are the words for errors of the wallet commands that package
// wallet does not know: the CLI's own inputs.
var cliTexts = []struct {
	err  error
	text trust.Text
}{
	{qr.ErrNoCode, trust.Text{ZH: "图片中没有找到二维码。", EN: "No QR code was found in the image."}},
	{qr.ErrMultipleCodes, trust.Text{ZH: "图片中有不止一个二维码，请只拍领取码。", EN: "The image holds more than one QR code: photograph the offer code alone."}},
	{qr.ErrNotImage, trust.Text{ZH: "这不是 PNG、JPEG 或 GIF 图片。", EN: "This is not a PNG, JPEG or GIF image."}},
	{qr.ErrTooLarge, trust.Text{ZH: "图片太大。", EN: "The image is too large."}},
	{trustcache.ErrPinChanged, trust.Text{ZH: "根密钥指纹与钱包首次获取信任列表时的不同，拒绝更换。", EN: "The root key thumbprint differs from the one the wallet first trusted: refused."}},
	{trust.ErrRootMismatch, trust.Text{ZH: "信任列表不是由指定的根密钥签发的：请核对 permitd 打印的根密钥指纹。", EN: "The trust list is not signed by the root key pinned: check the thumbprint permitd printed."}},
	{trust.ErrRollback, trust.Text{ZH: "服务返回的信任列表比钱包持有的旧，拒绝使用。", EN: "The service sent a trust list older than the one the wallet holds: refused."}},
}

// residentError is an error of a wallet command in the words a resident
// reads: Chinese, English, then the error itself in brackets (what a
// helper at the counter or a developer needs).
type residentError struct {
	text trust.Text
	err  error
}

func (e *residentError) Error() string {
	return e.text.ZH + "\n" + e.text.EN + "\n(" + e.err.Error() + ")"
}

func (e *residentError) Unwrap() error { return e.err }

// explain returns the words for err: the CLI's, else package wallet's.
func explain(err error) trust.Text {
	for _, c := range cliTexts {
		if errors.Is(err, c.err) {
			return c.text
		}
	}
	text, _ := wallet.Explain(err)
	return text
}

// forResidents wraps a wallet command so that the error it ends with is
// told in Chinese and English. Usage errors, refusals already printed and
// help are left as they are.
func forResidents(c command) command {
	return func(e *env, args []string) error {
		err := c(e, args)
		var re *residentError
		if err == nil || errors.Is(err, errUsage) || errors.Is(err, errRefused) || errors.As(err, &re) {
			return err
		}
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &residentError{text: explain(err), err: err}
	}
}

// clock formats an instant as date and time, China time.
func clock(t time.Time) string { return t.In(permit.ChinaTime()).Format("2006-01-02 15:04") }

// day formats an instant as the date it falls on, China time.
func day(t time.Time) string { return permit.DateOf(t, permit.ChinaTime()).String() }

// errNotChecked marks a status not checked because the command was told to
// stay offline.
var errNotChecked = errors.New("not checked: --offline")

// statusWords names a status list status.
var statusWords = map[wallet.ListStatus]trust.Text{
	wallet.StatusValid:      {ZH: "有效", EN: "valid"},
	wallet.StatusRevoked:    {ZH: "已注销", EN: "revoked"},
	wallet.StatusSuspended:  {ZH: "已暂停使用", EN: "suspended"},
	wallet.StatusSuperseded: {ZH: "已被新证照取代", EN: "superseded"},
	wallet.StatusUnknown:    {ZH: "未知", EN: "unknown"},
}

// permitDates is the permit's dates as package permit counts them.
func permitDates(en wallet.Entry) permit.Permit {
	return permit.Permit{IssueDate: permit.DateOf(en.IssuedAt, permit.ChinaTime()), ValidUntil: permit.DateOf(en.Expires, permit.ChinaTime())}
}

// standing returns the one word that sums a permit up at now, the most
// serious first (REVOKED, SUPERSEDED, SUSPENDED, OVERDUE, ENDORSEMENT-DUE,
// NOT-YET-VALID, VALID), with what to tell its holder about it.
func standing(st wallet.Status, now time.Time) (word string, advice trust.Text) {
	p := permitDates(st.Entry)
	today := permit.DateOf(now, permit.ChinaTime())
	due := p.ValidUntil.String()
	overdue := trust.Text{
		ZH: fmt.Sprintf("年度签注已于 %s 到期，居住证暂停使用，办理逾期签注后恢复（《居住证暂行条例》第十条）。请到签发机关窗口办理签注，签注后更新钱包（permit wallet refresh）。", due),
		EN: fmt.Sprintf("The yearly endorsement was due on %s: the permit is suspended until a late endorsement restores it (Art. 10 of the Interim Regulations). Have it endorsed at the issuing authority's counter, then update the wallet (permit wallet refresh).", due),
	}
	switch {
	case st.List == wallet.StatusRevoked:
		return "REVOKED", explain(&wallet.StatusError{Status: wallet.StatusRevoked})
	case st.List == wallet.StatusSuperseded:
		return "SUPERSEDED", explain(&wallet.StatusError{Status: wallet.StatusSuperseded})
	case st.List == wallet.StatusSuspended:
		t := trust.Text{
			ZH: "签发机关已暂停此居住证的使用，核验时会被拒绝，直到签发机关恢复。请联系签发机关了解原因。二维码仍可出示，供窗口查询。",
			EN: "The issuing authority suspended the permit: verifiers refuse it until the authority reinstates it. Contact the issuing authority to learn why. The code can still be shown, for the counter to find the permit.",
		}
		if p.State(today) == permit.StateOverdue {
			t.ZH, t.EN = t.ZH+overdue.ZH, t.EN+" "+overdue.EN
		}
		return "SUSPENDED", t
	}
	switch p.State(today) {
	case permit.StateOverdue:
		return "OVERDUE", overdue
	case permit.StateEndorsementDue:
		n := today.DaysUntil(p.ValidUntil)
		return "ENDORSEMENT-DUE", trust.Text{
			ZH: fmt.Sprintf("年度签注期已开始：请在 %s 前到签发机关窗口办理签注（还有 %d 天），签注后更新钱包（permit wallet refresh）。", due, n),
			EN: fmt.Sprintf("The endorsement window is open: have the permit endorsed at the issuing authority's counter before %s (%s left), then update the wallet (permit wallet refresh).", due, days(n)),
		}
	case permit.StateNotYetValid:
		return "NOT-YET-VALID", trust.Text{
			ZH: fmt.Sprintf("居住证签发于 %s，晚于本机日期 %s：请检查设备时间。", p.IssueDate, today),
			EN: fmt.Sprintf("The permit was issued on %s, after this device's date (%s): check the device clock.", p.IssueDate, today),
		}
	}
	opens, n := p.WindowOpens(), p.DaysUntilWindow(today)
	return "VALID", trust.Text{
		ZH: fmt.Sprintf("年度签注期自 %s 开始（还有 %d 天），%s 前办理。", opens, n, due),
		EN: fmt.Sprintf("The endorsement window opens on %s (in %s); endorse before %s.", opens, days(n), due),
	}
}

// days says n days in English.
func days(n int) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d day", n)
	}
	return fmt.Sprintf("%d days", n)
}

// checkedWords says what the status is and since when the wallet knows it.
func checkedWords(st wallet.Status, now time.Time) trust.Text {
	w := statusWords[st.List]
	if w == (trust.Text{}) {
		w = statusWords[wallet.StatusUnknown]
	}
	var reason trust.Text
	if st.Err != nil && !errors.Is(st.Err, errNotChecked) {
		reason = explain(st.Err)
	}
	switch {
	case st.Checked.IsZero() && st.Err == nil:
		return trust.Text{ZH: "状态：未查询", EN: "Status: not checked"}
	case st.Checked.IsZero() && errors.Is(st.Err, errNotChecked):
		return trust.Text{ZH: "状态：未查询（离线模式）", EN: "Status: not checked (--offline)"}
	case st.Checked.IsZero():
		return trust.Text{ZH: "状态：未能查询。" + reason.ZH, EN: "Status: could not be checked. " + reason.EN}
	case errors.Is(st.Err, errNotChecked):
		return trust.Text{ZH: fmt.Sprintf("状态：%s（%s 查询，本次未联网）", w.ZH, clock(st.Checked)),
			EN: fmt.Sprintf("Status: %s (checked %s; not checked now: --offline)", w.EN, clock(st.Checked))}
	case st.Err != nil:
		return trust.Text{ZH: fmt.Sprintf("状态：%s（截至 %s；此后离线，未能查询：%s）", w.ZH, clock(st.Checked), reason.ZH),
			EN: fmt.Sprintf("Status: %s (as of %s; offline since then: %s)", w.EN, clock(st.Checked), reason.EN)}
	}
	return trust.Text{ZH: fmt.Sprintf("状态：%s（%s 查询，%s）", w.ZH, clock(st.Checked), ageZH(now.Sub(st.Checked))),
		EN: fmt.Sprintf("Status: %s (checked %s, %s)", w.EN, clock(st.Checked), age(now, st.Checked))}
}

// ageZH says how long ago d was, in Chinese.
func ageZH(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "刚刚"
	case d < time.Hour:
		return fmt.Sprintf("%d 分钟前", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d 小时前", int(d.Hours()))
	}
	return fmt.Sprintf("%d 天前", int(d.Hours()/24))
}

// issuerNames returns the issuer's names in the trust list, or its iss.
func issuerNames(list *trust.List, iss string) trust.Text {
	if list != nil {
		for _, is := range list.Issuers {
			if is.ID == iss && is.Name.ZH != "" {
				return is.Name
			}
		}
	}
	return trust.Text{ZH: iss, EN: iss}
}

// permitHeader is the first line of a permit in wallet list: tab-separated
// fields for scripts (number, name, masked ID, place, "valid until DATE",
// the standing word).
func permitHeader(st wallet.Status, word string) string {
	place, _ := permit.Division(st.Region).Name()
	return strings.Join([]string{sanitize(st.PermitNo), sanitize(st.Name), sanitize(st.MaskedID), sanitize(place),
		"valid until " + permitDates(st.Entry).ValidUntil.String(), word}, "\t")
}

// statusLines returns the lines under a permit's header, indented: where
// it is for and who issued it, its status and since when it is known, and
// what to do, each in Chinese and then in English.
func statusLines(st wallet.Status, list *trust.List, now time.Time) []string {
	placeZH, placeEN := permit.Division(st.Region).Name()
	iss := issuerNames(list, st.Issuer)
	_, advice := standing(st, now)
	checked := checkedWords(st, now)
	lines := []string{
		fmt.Sprintf("居住地：%s；签发机关：%s", placeZH, iss.ZH),
		fmt.Sprintf("Residence: %s; issued by %s", placeEN, iss.EN),
		checked.ZH, checked.EN, advice.ZH, advice.EN,
	}
	for i, l := range lines {
		lines[i] = "  " + sanitize(l)
	}
	return lines
}

// refreshWords says what a refresh did, or why it failed.
func refreshWords(r wallet.Refreshed, err error) trust.Text {
	switch {
	case err != nil:
		why := explain(err)
		return trust.Text{ZH: "更新失败：" + why.ZH, EN: "Not refreshed: " + why.EN}
	case r.New:
		d := permitDates(r.Entry).ValidUntil.String()
		return trust.Text{ZH: fmt.Sprintf("已从签发机关更新电子证照，有效期至 %s。", d),
			EN: fmt.Sprintf("Refreshed from the issuer: the credential is valid until %s.", d)}
	}
	return trust.Text{ZH: "已向签发机关查询：尚未签注，电子证照已是最新。", EN: "Asked the issuer: not endorsed since; the credential is up to date."}
}

// walletOnline is what the wallet commands that go online need: the trust
// list held (brought up to date when it has expired) and an HTTP client.
type walletOnline struct {
	list   *trust.List
	client *http.Client
}

// goOnline loads the wallet's trust list; when it is no longer valid at now
// it first syncs it again from where "wallet trust" got it. Without a
// trust list the status cannot be checked, which the statuses then say.
func goOnline(ctx context.Context, w *wallet.Wallet, now time.Time) walletOnline {
	o := walletOnline{client: &http.Client{Timeout: 20 * time.Second}}
	list, err := heldTrustList(w.Dir())
	if err == nil && list.ValidAt(now, list.Policy.ClockSkew.Duration()) != nil {
		if c, err := trustcache.Open(walletTrustDir(w.Dir())); err == nil {
			c.Sync(ctx, o.client, "", "", now) // best effort: the held list stays otherwise
		}
		list, err = heldTrustList(w.Dir())
	}
	if err == nil {
		o.list = list
	}
	return o
}

// walletStatus returns the status of every credential held: checked online
// unless offline (then what the wallet knew), and, with autoRefresh, a
// refresh asked of the issuer for each credential that may have a newer
// one (wallet.Status.Refreshable), whose results it returns by permit
// number.
func walletStatus(ctx context.Context, w *wallet.Wallet, now time.Time, offline, autoRefresh bool) ([]wallet.Status, *trust.List, map[string]trust.Text, error) {
	if offline {
		sts, err := w.HeldStatus()
		for i := range sts {
			sts[i].Err = errNotChecked
		}
		list, _ := heldTrustList(w.Dir())
		return sts, list, nil, err
	}
	o := goOnline(ctx, w, now)
	sts, err := w.CheckStatus(ctx, o.client, o.list, now)
	if err != nil || !autoRefresh || o.list == nil {
		return sts, o.list, nil, err
	}
	done := map[string]trust.Text{}
	for _, st := range sts {
		if st.Refreshable(now) && st.Err == nil {
			r, err := w.Refresh(ctx, st.PermitNo, o.client, o.list, now)
			done[st.PermitNo] = refreshWords(r, err)
		}
	}
	if len(done) == 0 {
		return sts, o.list, nil, nil
	}
	// A refreshed credential has a status entry of its own.
	sts, err = w.CheckStatus(ctx, o.client, o.list, now)
	return sts, o.list, done, err
}
