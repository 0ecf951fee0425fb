package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/atomicfile"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/trustcache"
	"github.com/epermit/epermit/wallet"
)

func walletInit(e *env, args []string) error {
	fs := newFlags(e, "wallet init")
	dir := fs.String("dir", "", "wallet directory (created 0700)")
	alg := fs.String("alg", keys.AlgEdDSA, "device key: EdDSA (Ed25519) or ES256 (ECDSA P-256, the key phones hold in hardware)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "dir"); err != nil {
		return err
	}
	if *alg != keys.AlgEdDSA && *alg != keys.AlgES256 {
		return fmt.Errorf("%w: --alg %q: want %s or %s", errUsage, *alg, keys.AlgEdDSA, keys.AlgES256)
	}
	w, err := wallet.InitAlg(*dir, *alg)
	if err != nil {
		return err
	}
	j := w.JWK()
	// The device's public key, for an issuer to bind the credential to.
	pubJWK, err := jws.Marshal(j)
	if err != nil {
		return err
	}
	path := filepath.Join(*dir, "device.jwk.json")
	if err := writeFile(path, append(pubJWK, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wallet\t%s\ndevice key\t%s (%s)\npublic JWK\t%s\n", *dir, j.Kid, keyName(w.Alg()), path)
	return nil
}

// keyName describes a device key algorithm.
func keyName(alg string) string {
	if alg == keys.AlgES256 {
		return "ECDSA P-256"
	}
	return "Ed25519"
}

// walletTrustDir is where a wallet keeps the trust list of the issuers it
// accepts offers from: a trust cache (package trustcache) in the wallet.
func walletTrustDir(dir string) string { return filepath.Join(dir, "trust") }

// walletTrust fetches the trust list of an issuer service into the wallet,
// verified against the root key's pin, and lists the issuers the wallet
// will accept offers from.
func walletTrust(e *env, args []string) error {
	var from, pin *string
	var timeout *time.Duration
	w, pos, err := openWallet(e, "wallet trust", args, func(fs flagSet) {
		from = fs.String("from", "", "the issuer service's URL (default: the one of the last sync)")
		pin = fs.String("pin", "", "RFC 7638 thumbprint of the root key (first time; printed by permitd)")
		timeout = fs.Duration("timeout", time.Minute, "give up after this long")
	})
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: wallet trust takes no arguments, got %q", errUsage, pos[0])
	}
	c, err := trustcache.Open(walletTrustDir(w.Dir()))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	rep, err := c.Sync(ctx, &http.Client{Timeout: 30 * time.Second}, *from, *pin, e.now())
	if err != nil {
		return err
	}
	// The wallet needs the trust list; the status lists that come with it
	// are a convenience.
	if it := rep.Items[0]; it.Err != nil {
		return fmt.Errorf("trust list %s: %w", it.URL, it.Err)
	}
	list, err := heldTrustList(w.Dir())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "trust list version %d, valid until %s; offers are accepted from:\n", list.Version,
		list.ExpiresAt.In(permit.ChinaTime()).Format(time.DateOnly))
	for _, is := range list.Issuers {
		fmt.Fprintf(e.stdout, "  %s\t%s\t%s\n", is.ID, is.Name.ZH, is.Name.EN)
	}
	return nil
}

// heldTrustList loads the trust list the wallet in dir holds.
func heldTrustList(dir string) (*trust.List, error) {
	c, err := trustcache.Open(walletTrustDir(dir))
	if err != nil {
		return nil, err
	}
	td, err := c.Trust()
	if errors.Is(err, trustcache.ErrEmpty) {
		return nil, fmt.Errorf("%w: run \"permit wallet trust --dir %s --from URL --pin THUMBPRINT\" first (or, for testing only, --insecure-any-issuer)", wallet.ErrNoTrustList, dir)
	}
	if err != nil {
		return nil, err
	}
	return td.Store().List(), nil
}

func openWallet(e *env, name string, args []string, extra func(fs flagSet)) (*wallet.Wallet, []string, error) {
	fs := newFlags(e, name)
	dir := fs.String("dir", "", "wallet directory")
	if extra != nil {
		extra(fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := required(fs, "dir"); err != nil {
		return nil, nil, err
	}
	w, err := wallet.Open(*dir)
	return w, pos, err
}

func walletAdd(e *env, args []string) error {
	var jwksFile *string
	w, pos, err := openWallet(e, "wallet add", args, func(fs flagSet) {
		jwksFile = fs.String("jwks", "", "issuer's published JWKS, to check the credential's signature")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: wallet add takes one credential file (- for stdin)", errUsage)
	}
	var raw []byte
	if pos[0] == "-" {
		raw, err = readAllLimited(e.stdin, 1<<20)
	} else {
		raw, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return err
	}
	var set *keys.JWKS
	if *jwksFile != "" {
		s, err := readJWKSOrKey(*jwksFile)
		if err != nil {
			return err
		}
		set = &s
	} else {
		fmt.Fprintln(e.stderr, "permit: warning: no --jwks given: the issuer signature was not checked")
	}
	en, err := w.Add(strings.TrimSpace(string(raw)), set)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "stored permit %s (%s, %s) valid until %s\n", sanitize(en.PermitNo), sanitize(en.Name), sanitize(en.MaskedID),
		en.Expires.In(permit.ChinaTime()).Format(time.DateOnly))
	return nil
}

func walletAccept(e *env, args []string) error {
	var qrFile *string
	var anyIssuer *bool
	w, pos, err := openWallet(e, "wallet accept", args, func(fs flagSet) {
		qrFile = fs.String("qr", "", "photo or PNG of the offer's QR code, instead of the offer link")
		anyIssuer = fs.Bool("insecure-any-issuer", false, "TESTING ONLY: accept an offer from an issuer the wallet's trust list does not name")
	})
	if err != nil {
		return err
	}
	var trusted wallet.AcceptOption
	if *anyIssuer {
		fmt.Fprintln(e.stderr, "permit: WARNING: --insecure-any-issuer: the issuer of this offer is NOT checked against a trust list.")
		fmt.Fprintln(e.stderr, "permit: WARNING: a phishing link could put a forged permit in this wallet. Use it for testing only.")
		fmt.Fprintln(e.stderr, "permit: 警告：未核对签发机关是否在信任列表中，钓鱼链接可能向钱包写入伪造的居住证，仅供测试使用。")
		trusted = wallet.AnyIssuer()
	} else {
		list, err := heldTrustList(w.Dir())
		if err != nil {
			return err
		}
		trusted = wallet.TrustedIssuers(list)
	}
	var offer string
	switch {
	case *qrFile != "" && len(pos) == 0:
		data, err := qr.DecodeFile(*qrFile)
		if err != nil {
			return err
		}
		offer = string(data)
	case *qrFile == "" && len(pos) == 1:
		offer = pos[0]
	default:
		return fmt.Errorf("%w: wallet accept takes the offer link (openid-credential-offer://...) or --qr IMAGE", errUsage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	en, err := w.Accept(ctx, strings.TrimSpace(offer), &http.Client{Timeout: 30 * time.Second}, e.now(), trusted)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "stored permit %s (%s, %s) from %s, valid until %s\n", sanitize(en.PermitNo), sanitize(en.Name),
		sanitize(en.MaskedID), sanitize(en.Issuer), en.Expires.In(permit.ChinaTime()).Format(time.DateOnly))
	return nil
}

// walletList prints one tab-separated line per permit held:
//
//	PERMIT-NO  NAME  MASKED-ID  window opens DATE (in N days)  valid until DATE  NOTE
//
// The endorsement window and the permit's state follow package permit's
// rules (permit.Permit.WindowOpens, permit.Permit.State) on today's date in
// China time. Inside the window, and once overdue, a warning also goes to
// stderr so that scripts reading stdout notice.
func walletList(e *env, args []string) error {
	w, _, err := openWallet(e, "wallet list", args, nil)
	if err != nil {
		return err
	}
	list, err := w.List()
	if err != nil {
		return err
	}
	now := e.now()
	for _, en := range list {
		line, warning := listLine(en, now)
		fmt.Fprintln(e.stdout, line)
		if warning != "" {
			fmt.Fprintf(e.stderr, "permit: warning: %s\n", warning)
		}
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no permits yet: add one with \"permit wallet add\"")
	}
	return nil
}

// listLine returns the wallet list line of en at now, and the warning to
// give on stderr, if any. The credential's fields are the issuer's text:
// they go through sanitize, which also keeps a tab out of a column.
func listLine(en wallet.Entry, now time.Time) (line, warning string) {
	no := sanitize(en.PermitNo)
	// Dates are counted in China time, as printed on the permit: the
	// credential's exp is 00:00 UTC+8 of the day the endorsement is due.
	p := permit.Permit{
		IssueDate:  permit.DateOf(en.IssuedAt, permit.ChinaTime()),
		ValidUntil: permit.DateOf(en.Expires, permit.ChinaTime()),
	}
	today := permit.DateOf(now, permit.ChinaTime())
	opens, due := p.WindowOpens(), today.DaysUntil(p.ValidUntil)
	window := fmt.Sprintf("window opened %s", opens)
	note := fmt.Sprintf("%d days until endorsement is due", due)
	switch p.State(today) {
	case permit.StateOverdue:
		note = "ENDORSEMENT OVERDUE: the permit is suspended until endorsed"
		warning = fmt.Sprintf("permit %s: endorsement was due on %s: the permit is suspended until endorsed", no, p.ValidUntil)
	case permit.StateEndorsementDue:
		note = fmt.Sprintf("endorse now: the endorsement window is open (%d days left)", due)
		warning = fmt.Sprintf("permit %s: the endorsement window is open: have it endorsed before %s (%d days left)", no, p.ValidUntil, due)
	case permit.StateNotYetValid:
		window = fmt.Sprintf("window opens %s (in %d days)", opens, p.DaysUntilWindow(today))
		warning = fmt.Sprintf("permit %s: issued on %s, after today (%s): check the device clock", no, p.IssueDate, today)
	default:
		window = fmt.Sprintf("window opens %s (in %d days)", opens, p.DaysUntilWindow(today))
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\tvalid until %s\t%s", no, sanitize(en.Name), sanitize(en.MaskedID), window, p.ValidUntil, note), warning
}

// liveRefresh is how often wallet show --live makes a new presentation. The
// default policy accepts a key-binding JWT for 60 s (plus 10 s of clock
// skew), so a code scanned just before its replacement is still fresh.
const liveRefresh = 30 * time.Second

// liveTimer is what the live loop waits with.
type liveTimer interface {
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realTimer struct{}

func (realTimer) After(d time.Duration) <-chan time.Time { return time.After(d) }

// liveClock is the live loop's timer; the loop reads the time from env.now.
// Tests replace both with a fake clock that moves when waited on.
var liveClock liveTimer = realTimer{}

// liveTerminal reports whether the live code may be redrawn in place on w
// with ANSI cursor movement: w is a terminal and TERM is not "dumb". Tests
// replace it.
var liveTerminal = func(w io.Writer) bool { return isTerminal(w) && os.Getenv("TERM") != "dumb" }

// groupFields names what each claim group of package credential discloses.
var groupFields = map[string]string{
	credential.GroupIdentity:  "citizen ID number, ethnicity, photo digest",
	credential.GroupResidence: "residence and household addresses, household division, residence since, basis, first issue date",
}

// alwaysVisible names the claims every presentation shows.
const alwaysVisible = "name, masked citizen ID, residence region, permit number"

// disclosureLine says what a presentation for purpose shows, from the
// claim groups policy requires for it.
func disclosureLine(policy trust.Policy, purpose string) string {
	pu, ok := policy.Purpose(purpose)
	if !ok || len(pu.Required) == 0 {
		return "discloses only: " + alwaysVisible
	}
	parts := []string{alwaysVisible}
	for _, g := range pu.Required {
		if f, ok := groupFields[g]; ok {
			parts = append(parts, f)
		} else {
			parts = append(parts, "claim group "+strconv.Quote(g))
		}
	}
	return sanitize("discloses: " + strings.Join(parts, "; "))
}

func walletShow(e *env, args []string) error {
	var permitNo, purpose, aud, nonce, qrFile *string
	var packed, live *bool
	var liveFor *time.Duration
	w, pos, err := openWallet(e, "wallet show", args, func(fs flagSet) {
		permitNo = fs.String("permit", "", "permit number (default: the only one)")
		purpose = fs.String("purpose", trust.DefaultPurpose, "what the permit is shown for")
		aud = fs.String("aud", "", "verifier's audience (challenge mode, with --nonce)")
		nonce = fs.String("nonce", "", "verifier's nonce (challenge mode)")
		qrFile = fs.String("qr", "", "write the code as a PNG file (with --live: rewritten at each refresh)")
		packed = fs.Bool("packed", true, "pack the QR compactly (ep2: digits in numeric mode); --packed=false for the raw SD-JWT text")
		live = fs.Bool("live", false, "draw the code in the terminal and make a new one every 30 s until interrupted")
		liveFor = fs.Duration("live-for", 0, "with --live: stop after this long (default: until interrupted)")
	})
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return fmt.Errorf("%w: wallet show takes no arguments, got %q", errUsage, pos[0])
	case *live && *nonce != "":
		return fmt.Errorf("%w: --live cannot answer a challenge: a verifier's nonce is single-use (drop --nonce or --live)", errUsage)
	case *liveFor < 0:
		return fmt.Errorf("%w: --live-for %v is negative", errUsage, *liveFor)
	case *liveFor != 0 && !*live:
		return fmt.Errorf("%w: --live-for needs --live", errUsage)
	}
	req := wallet.Request{Purpose: *purpose, Audience: *aud, Nonce: *nonce}
	if *live {
		return refusal(e, showLive(e, w, *permitNo, req, *packed, *qrFile, *liveFor))
	}
	req.Now = e.now()
	text, err := w.Present(*permitNo, req)
	if err != nil {
		return refusal(e, err)
	}
	if *qrFile == "" {
		fmt.Fprintln(e.stdout, text)
		return nil
	}
	code, png, err := encodeCode(text, *packed, *qrFile != "")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(*qrFile, png, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\t%d characters\tQR version %d (M)\n", *qrFile, len(text), code.Version())
	return nil
}

// refusal prints the policy's reason for a refused purpose, in Chinese and
// English, and turns it into errRefused; other errors pass through.
func refusal(e *env, err error) error {
	var refused *wallet.RefusedError
	if errors.As(err, &refused) {
		fmt.Fprintf(e.stderr, "%s\n%s\n", sanitize(refused.Refusal.ZH), sanitize(refused.Refusal.EN))
		return errRefused
	}
	return err
}

// encodeCode encodes a presentation as a QR code at level M and, when
// withPNG, renders it as a PNG with 4 pixels a module.
func encodeCode(text string, packed, withPNG bool) (*qr.Code, []byte, error) {
	code, err := qr.EncodePresentation(text, packed, qr.M)
	if err != nil {
		return nil, nil, err
	}
	if !withPNG {
		return code, nil, nil
	}
	png, err := code.PNG(4)
	if err != nil {
		return nil, nil, err
	}
	return code, png, nil
}

// showLive is wallet show --live: it makes a presentation, draws it, counts
// down, and makes a new one (fresh key-binding JWT: new iat and nonce)
// every liveRefresh, until SIGINT or SIGTERM, or until liveFor has passed
// when it is not zero. On a terminal it redraws in place and updates the
// countdown every second, and erases the code when it stops; otherwise it
// prints each new code once, so that logs stay readable. With qrFile set
// the PNG is rewritten atomically at each refresh.
func showLive(e *env, w *wallet.Wallet, permitNo string, req wallet.Request, packed bool, qrFile string, liveFor time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	en, _, err := w.Get(permitNo)
	if err != nil {
		return err
	}
	purpose := req.Purpose
	if purpose == "" {
		purpose = trust.DefaultPurpose
	}
	policy := trust.DefaultPolicy()
	if req.Policy != nil {
		policy = *req.Policy
	}
	title := ""
	if pu, ok := policy.Purpose(purpose); ok {
		title = fmt.Sprintf(" (%s, %s)", sanitize(pu.Title.EN), sanitize(pu.Title.ZH))
	}
	header := fmt.Sprintf("permit %s (%s, %s), purpose %s%s\n%s\n",
		sanitize(en.PermitNo), sanitize(en.Name), sanitize(en.MaskedID), sanitize(purpose), title, disclosureLine(policy, purpose))

	tty := liveTerminal(e.stdout)
	start := e.now()
	over := func(t time.Time) bool { return liveFor > 0 && !t.Before(start.Add(liveFor)) }
	drawn := 0 // lines above the countdown line, on a terminal
	codes := 0
	defer func() {
		if tty && drawn > 0 {
			// Leave no code on the screen: it would stay fresh for a minute.
			fmt.Fprintf(e.stdout, "\r\x1b[%dA\x1b[J", drawn)
		}
		if codes > 0 {
			fmt.Fprintf(e.stderr, "permit: live code stopped after %d presentations\n", codes)
		}
	}()
	for {
		made := e.now()
		if over(made) || ctx.Err() != nil {
			return nil
		}
		req.Now = made
		text, err := w.Present(en.PermitNo, req)
		if err != nil {
			return err
		}
		code, png, err := encodeCode(text, packed, qrFile != "")
		if err != nil {
			return err
		}
		if qrFile != "" {
			if err := atomicfile.Write(qrFile, png, 0o644); err != nil {
				return err
			}
		}
		codes++
		next := made.Add(liveRefresh)
		frame := header + code.Terminal()
		if tty {
			if drawn > 0 {
				fmt.Fprintf(e.stdout, "\r\x1b[%dA\x1b[J", drawn)
			}
			fmt.Fprint(e.stdout, frame)
			drawn = strings.Count(frame, "\n")
		} else {
			fmt.Fprintf(e.stdout, "%scode %d made %s, next at %s\n", frame, codes,
				made.In(permit.ChinaTime()).Format(time.TimeOnly), next.In(permit.ChinaTime()).Format(time.TimeOnly))
		}
		for {
			now := e.now()
			if !now.Before(next) || over(now) {
				break
			}
			left := (next.Sub(now) + time.Second - 1) / time.Second // whole seconds, rounded up
			if tty {
				fmt.Fprintf(e.stdout, "\r\x1b[Krefreshes in %d s (Ctrl-C to stop)", left)
			}
			// Wake when the countdown changes, or at the deadline.
			wait := next.Sub(now) - (left-1)*time.Second
			if liveFor > 0 {
				wait = min(wait, start.Add(liveFor).Sub(now))
			}
			select {
			case <-ctx.Done():
				return nil
			case <-liveClock.After(wait):
			}
		}
	}
}
