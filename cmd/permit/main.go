// Command permit is the e-permit command-line tool: keys, offline issuance,
// status lists, trust lists, a resident's wallet, and offline verification.
//
// Exit status: 0 success (or a valid permit), 1 refused (an invalid permit
// or a failed operation), 2 usage or configuration error (such as trust data
// that cannot be loaded, or a --pin that does not match the trust list).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const usage = `permit: e-permit command-line tool

Usage:
  permit keys new --out DIR [--name issuer]
  permit issue --app FILE --holder JWK --key KEY --iss URL --status-uri URI --idx N [--issued YYYY-MM-DD] [--out FILE]
  permit status new --uri URI --key KEY --out TOKEN [--size N] [--bits 2] [--ttl 1h] [--valid 48h]
  permit status set --token TOKEN --key KEY --idx N --value valid|revoked|suspended [--valid 48h]
  permit status show --token TOKEN --key JWKS|KEY [--idx N]
  permit trust sign --root KEY --issuer-key KEY --iss URL --status-uri URI... --out FILE [--version N] [--days 30]
  permit wallet init --dir DIR [--alg EdDSA|ES256]
  permit wallet trust --dir DIR [--from URL] [--pin THUMBPRINT]
  permit wallet add --dir DIR [--jwks FILE] FILE
  permit wallet accept --dir DIR [--insecure-any-issuer] (OFFER_URI | --qr IMAGE)
  permit wallet list --dir DIR
  permit wallet show --dir DIR [--permit NO] [--purpose P] [--aud A --nonce N | --live [--live-for D]] [--qr FILE] [--packed=false]
  permit verifier sync --dir DIR [--from URL] [--pin THUMBPRINT]
  permit verify (--trust FILE [--pin THUMBPRINT] [--status FILE]... | --cache DIR) [--purpose P] [--aud A] [--nonce N] [--json]
                [TEXT | --qr IMAGE | --stdin [--text]]

Run "permit COMMAND -h" for the flags of a command.
Exit status: 0 valid (or done), 1 refused (or failed), 2 usage or configuration error (such as a wrong --pin).
Purposes: residence-proof (default), public-service, convenience, police-check, identity-card, credit-loan.
`

// errUsage marks errors that are the caller's mistake (exit 2).
var errUsage = errors.New("usage")

// errRefused marks a verification that refused the permit (exit 1) after
// its verdict was printed.
var errRefused = errors.New("refused")

// errConfig marks an error in what the caller set up rather than in what
// was verified or done (exit 2): trust data that cannot be loaded, a pin
// that does not match.
var errConfig = errors.New("configuration error")

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, time.Now))
}

// env is what a command may touch.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, now: now}
	err := dispatch(e, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errRefused):
		return 1
	case errors.Is(err, errUsage), errors.Is(err, errConfig):
		printError(stderr, err)
		return 2
	default:
		printError(stderr, err)
		return 1
	}
}

// printError prints err line by line through sanitize: an error may quote
// what a server, a file or a scanned code said.
func printError(w io.Writer, err error) {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = sanitize(l)
	}
	fmt.Fprintf(w, "permit: %s\n", strings.Join(lines, "\n"))
}

type command func(e *env, args []string) error

var commands = map[string]command{
	"keys new":      keysNew,
	"issue":         issueCmd,
	"status new":    statusNew,
	"status set":    statusSet,
	"status show":   statusShow,
	"trust sign":    trustSign,
	"wallet init":   walletInit,
	"wallet trust":  walletTrust,
	"wallet add":    walletAdd,
	"wallet accept": walletAccept,
	"verifier sync": verifierSync,
	"wallet list":   walletList,
	"wallet show":   walletShow,
	"verify":        verifyCmd,
	"help":          func(e *env, _ []string) error { fmt.Fprint(e.stdout, usage); return nil },
	"-h":            func(e *env, _ []string) error { fmt.Fprint(e.stdout, usage); return nil },
	"--help":        func(e *env, _ []string) error { fmt.Fprint(e.stdout, usage); return nil },
	"version":       func(e *env, _ []string) error { fmt.Fprintln(e.stdout, "permit (e-permit)"); return nil },
	"keys":          groupHelp("keys"),
	"status":        groupHelp("status"),
	"trust":         groupHelp("trust"),
	"wallet":        groupHelp("wallet"),
}

func groupHelp(name string) command {
	return func(e *env, _ []string) error {
		var lines []string
		for _, l := range strings.Split(usage, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "permit "+name+" ") {
				lines = append(lines, l)
			}
		}
		return fmt.Errorf("%w: %s needs a subcommand:\n%s", errUsage, name, strings.Join(lines, "\n"))
	}
}

func dispatch(e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	if len(args) >= 2 {
		if c := commands[args[0]+" "+args[1]]; c != nil {
			return c(e, args[2:])
		}
	}
	if c := commands[args[0]]; c != nil {
		return c(e, args[1:])
	}
	return fmt.Errorf("%w: unknown command %q (run \"permit help\")", errUsage, strings.Join(args[:min(2, len(args))], " "))
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("permit "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parse parses flags, allowing them after positional arguments too.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		f := fs.Lookup(n)
		if f == nil || f.Value.String() == "" {
			return fmt.Errorf("%w: %s needs --%s", errUsage, fs.Name(), n)
		}
	}
	return nil
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }
