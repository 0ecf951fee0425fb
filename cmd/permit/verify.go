package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/verifier"
)

// flagSet is the part of flag.FlagSet the commands use to declare flags.
type flagSet = *flag.FlagSet

func verifyCmd(e *env, args []string) error {
	fs := newFlags(e, "verify")
	trustFile := fs.String("trust", "", "trust list JWT (with --pin) or issuer JWKS file")
	cacheDir := fs.String("cache", "", "trust data synced by \"permit verifier sync\" (instead of --trust and --status)")
	pin := fs.String("pin", "", "RFC 7638 thumbprint of the root key that signs the trust list")
	var statusFiles multi
	fs.Var(&statusFiles, "status", "status list token file (repeatable)")
	purpose := fs.String("purpose", trust.DefaultPurpose, "what the permit is shown for")
	aud := fs.String("aud", "", "this verifier's audience")
	nonce := fs.String("nonce", "", "the challenge nonce this verifier gave")
	asJSON := fs.Bool("json", false, "print one JSON object per verdict")
	asText := fs.Bool("text", false, "counter mode: one-line text verdicts even when standard output is not a terminal")
	qrFile := fs.String("qr", "", "read the code from an image file")
	stdin := fs.Bool("stdin", false, "counter mode: one code per line from standard input")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if (*trustFile == "") == (*cacheDir == "") || (*cacheDir != "" && (*pin != "" || len(statusFiles) > 0)) {
		return fmt.Errorf("%w: verify takes --trust FILE [--pin P] [--status FILE]... or --cache DIR", errUsage)
	}
	inputs := len(pos)
	if *qrFile != "" {
		inputs++
	}
	if *stdin {
		inputs++
	}
	if inputs != 1 || len(pos) > 1 {
		return fmt.Errorf("%w: verify takes exactly one of TEXT, --qr IMAGE or --stdin", errUsage)
	}
	var td *verifier.Trust
	if *cacheDir != "" {
		td, err = loadCache(*cacheDir)
	} else {
		td, err = loadTrust(*trustFile, *pin, statusFiles, e.now())
	}
	if err != nil {
		// Trust data that cannot be used is the verifier's set-up, not a
		// verdict on the permit: exit 2, never the 1 of a refusal.
		if errors.Is(err, trust.ErrRootMismatch) {
			err = fmt.Errorf("%w (is --pin the root key thumbprint that permitd or \"permit trust sign\" printed?)", err)
		}
		if !errors.Is(err, errUsage) {
			err = fmt.Errorf("%w: %w", errConfig, err)
		}
		return err
	}
	opts := verifier.Options{Trust: td, Purpose: *purpose, Audience: *aud, Nonce: *nonce, Replay: verifier.NewReplayCache()}
	if *asJSON && *asText {
		return fmt.Errorf("%w: --json and --text do not go together", errUsage)
	}
	// Counter mode writes JSON lines for whatever reads its output, and
	// coloured one-line verdicts for a person at a terminal.
	tty := isTerminal(e.stdout)
	jsonOut := *asJSON || (*stdin && !*asText && !tty)
	p := &printer{e: e, json: jsonOut, color: !jsonOut && tty}

	switch {
	case *stdin:
		return counter(e, opts, p)
	case *qrFile != "":
		raw, err := qr.DecodeFile(*qrFile)
		if err != nil {
			return err
		}
		return p.verdict(verifyText(string(raw), opts, e.now()))
	default:
		return p.verdict(verifyText(pos[0], opts, e.now()))
	}
}

// verifyText accepts a scanned code in raw or packed form.
func verifyText(s string, o verifier.Options, now time.Time) *verifier.Result {
	o.Now = now
	if text, err := qr.NormalizeScanned(s); err == nil {
		s = text
	}
	return verifier.Verify(s, o)
}

// counter reads one code per line (a USB scanner types it and presses
// Enter), prints one verdict per line, and keeps going whatever it reads.
func counter(e *env, o verifier.Options, p *printer) error {
	in := bufio.NewReader(e.stdin)
	refused := false
	for {
		line, tooLong, err := readLine(in, verifier.MaxInput)
		if tooLong {
			p.verdict(verifier.Verify(strings.Repeat("x", verifier.MaxInput+1), withNow(o, e.now())))
			refused = true
		} else if line = strings.TrimSpace(line); line != "" {
			if verr := p.verdict(verifyText(line, o, e.now())); verr != nil {
				refused = true
			}
		}
		if err != nil {
			break // io.EOF or a read error: the input is over
		}
	}
	if refused {
		return errRefused
	}
	return nil
}

func withNow(o verifier.Options, now time.Time) verifier.Options { o.Now = now; return o }

// readLine reads one line of at most max bytes. A longer line is consumed
// to its end without being kept, and reported as tooLong.
func readLine(r *bufio.Reader, max int) (line string, tooLong bool, err error) {
	var sb strings.Builder
	for {
		chunk, err := r.ReadSlice('\n')
		if sb.Len()+len(chunk) > max+2 { // room for CR LF
			tooLong = true
		} else {
			sb.Write(chunk)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			return "", true, err
		}
		return sb.String(), false, err
	}
}

func loadTrust(path, pin string, statusFiles []string, now time.Time) (*verifier.Trust, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var td *verifier.Trust
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
		td, err = verifier.LoadJWKS(raw, notAfter(st.ModTime(), now))
	} else {
		if pin == "" {
			return nil, fmt.Errorf("%w: a trust list needs --pin with the root key thumbprint", errUsage)
		}
		td, err = verifier.LoadTrustList(strings.TrimSpace(string(raw)), pin, notAfter(st.ModTime(), now))
	}
	if err != nil {
		return nil, err
	}
	for _, f := range statusFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		// A file dated in the future (a skewed clock) counts as synced now.
		if err := td.AddStatusList(strings.TrimSpace(string(raw)), notAfter(st.ModTime(), now)); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return td, nil
}

// notAfter returns t, or now when t is later: a file's time is when its
// data was synced, and a date in the future would make data look fresh.
func notAfter(t, now time.Time) time.Time {
	if t.After(now) {
		return now
	}
	return t
}

type printer struct {
	e     *env
	json  bool
	color bool
}

// verdict prints r and returns errRefused when the permit was refused.
func (p *printer) verdict(r *verifier.Result) error {
	if p.json {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		fmt.Fprintf(p.e.stdout, "%s\n", sanitize(string(b)))
	} else {
		fmt.Fprintln(p.e.stdout, p.line(r))
	}
	if !r.Valid {
		return errRefused
	}
	return nil
}

func (p *printer) line(r *verifier.Result) string {
	var sb strings.Builder
	verdict, on, off := "VALID 有效", "\x1b[1;97;42m", "\x1b[0m"
	if !r.Valid {
		verdict, on = "REFUSED 拒绝", "\x1b[1;97;41m"
	}
	if !p.color {
		on, off = "", ""
	}
	if p.color {
		verdict = " " + verdict + " "
	}
	fmt.Fprintf(&sb, "%s%s%s", on, verdict, off)
	// Everything but the verdict word comes from the scanned code or the
	// trust data: each piece goes through sanitize.
	if c := r.Claims; c != nil {
		fmt.Fprintf(&sb, " %s %s region %s permit %s until %s", sanitize(c.Name), sanitize(c.MaskedID), sanitize(c.Region),
			sanitize(c.PermitNo), c.Expires.In(permit.ChinaTime()).Format(time.DateOnly))
	}
	fmt.Fprintf(&sb, " purpose=%s status=%s holder_bound=%t live=%t", sanitize(r.Purpose), sanitize(string(r.Status)), r.HolderBound, r.Fresh)
	if r.Issuer.NameEN != "" {
		fmt.Fprintf(&sb, " issuer=\"%s\"", sanitize(r.Issuer.NameEN))
	}
	for _, x := range r.Reasons {
		fmt.Fprintf(&sb, "\n  ✗ %s: %s / %s", x.Code, sanitize(x.MessageZH), sanitize(x.Message))
		if x.Detail != "" {
			fmt.Fprintf(&sb, " (%s)", sanitize(x.Detail))
		}
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(&sb, "\n  ! %s: %s / %s", x.Code, sanitize(x.MessageZH), sanitize(x.Message))
		if x.Detail != "" {
			fmt.Fprintf(&sb, " (%s)", sanitize(x.Detail))
		}
	}
	return sb.String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func readAllLimited(r io.Reader, n int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, n+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > n {
		return nil, fmt.Errorf("input larger than %d bytes", n)
	}
	return b, nil
}
