// Command permitd is the e-permit issuer service: residents apply, officials
// approve, endorse, revoke and suspend, wallets receive credentials through
// OpenID4VCI, and offline verifiers fetch keys, the trust list and status
// lists. Records live in one bbolt file under the data directory, next to
// the keys, which are generated on first start.
//
// Exit status: 0 success, 1 failure, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const usage = `permitd: the e-permit issuer service

Usage:
  permitd [serve] [flags]                 start the service (the default command)
  permitd token create --role ROLE --name NAME [--authority SLUG] [--server URL]
                                           make an official's API token (officer, revoker, auditor, admin),
                                           for one authority's records or (without --authority) all
  permitd backup --out FILE [--server URL] copy the store while it is in use (with --server) or stopped
  permitd audit verify                     check the audit log's hash chain
  permitd keys rotate [--authority SLUG]   make a new active signing key (a running service picks it up on SIGHUP)
  permitd apps export --out DIR --base-url URL
                                           write the browser apps as static files for another web server

Common flags (each also read from the environment variable in brackets):
  --data DIR           data directory: store, keys [PERMITD_DATA, default ./var]
  --authorities FILE   issuing authorities hosted, JSON; default: one provincial authority [PERMITD_AUTHORITIES]

Serve flags:
  --addr HOST:PORT     listen address [PERMITD_ADDR, default 127.0.0.1:8080]
  --base-url URL       public URL; iss values are BASE/SLUG [PERMITD_BASE_URL, default http(s)://ADDR]
  --tls-cert FILE      serve TLS with this certificate chain [PERMITD_TLS_CERT]
  --tls-key FILE       and this key [PERMITD_TLS_KEY]
  --log-format F       text or json [PERMITD_LOG_FORMAT, default text]
  --rate-limit N       residents' requests per second per address [PERMITD_RATE_LIMIT, default 2]
  --metrics-token T    the bearer token /metrics asks for; none: /metrics is open [PERMITD_METRICS_TOKEN]
  --trusted-proxy CIDR a reverse proxy whose X-Forwarded-For names the client (repeatable) [PERMITD_TRUSTED_PROXIES, comma-separated]

With --server, token create and backup call a running service with the admin token in PERMITD_TOKEN.
`

var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, hup))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) int {
	err := dispatch(ctx, args, stdout, stderr, hup)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "permitd: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "permitd: %v\n", err)
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	sub := ""
	if cmd != "serve" && cmd != "backup" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch cmd + " " + sub {
	case "serve ":
		return serveCmd(ctx, args, stdout, stderr, hup)
	case "token create":
		return tokenCreate(args, stdout)
	case "backup ":
		return backupCmd(args, stdout)
	case "audit verify":
		return auditVerify(args, stdout)
	case "keys rotate":
		return keysRotate(args, stdout)
	case "apps export":
		return appsExport(args, stdout)
	case "help ":
		return flag.ErrHelp
	}
	// A command group without its subcommand: "permitd token -h" asks for
	// the usage, "permitd token" forgot the subcommand.
	if sub == "" && strings.Contains(usage, "\n  permitd "+cmd+" ") {
		if len(args) > 0 && isHelpFlag(args[0]) {
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: %s needs a subcommand", errUsage, cmd)
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, strings.TrimSpace(cmd+" "+sub))
}

// isHelpFlag reports whether arg asks for help, as the flag package takes it.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

// flags returns a flag set with the common flags, reading defaults from the environment.
func flags(name string, c *common) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.data, "data", envOr("PERMITD_DATA", "var"), "")
	fs.StringVar(&c.authorities, "authorities", os.Getenv("PERMITD_AUTHORITIES"), "")
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// now is the clock of the commands.
var now = time.Now
