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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/epermit/epermit/issuer"
)

const usage = `permitd: the e-permit issuer service

Usage:
  permitd [serve] [flags]                 start the service (the default command)
  permitd token create --role ROLE --name NAME [--authority SLUG] [--days N] [--server URL]
                                           make an official's API token (officer, revoker, auditor, admin),
                                           for one authority's records or (without --authority) all;
                                           it expires after N days (default 90)
  permitd token list [--server URL]        the tokens, with role, authority, expiry, last use and state
  permitd token revoke --id ID [--server URL]
                                           withdraw a token at once
  permitd backup --out FILE [--server URL] a consistent copy of the store, also while it runs (--server)
  permitd restore --from FILE              load a backup into the empty store of --data (keys/ must be there)
  permitd audit verify [--pin THUMBPRINT] [--state FILE]
                                           check the audit log's chain and its signed checkpoints; --state
                                           keeps the latest checkpoint to detect a rollback next time
  permitd endorse --from FILE [--job ID] [--report FILE] [--server URL]
                                           endorse the permits listed (CSV or JSON lines), resumable
  permitd keys rotate [--authority SLUG]   make a new active signing key (a running service picks it up on SIGHUP)
  permitd keys rotate-kek                  make a new key-encryption key and re-wrap the data keys (service stopped)
  permitd store compact                    rewrite the store file without its free pages (service stopped)
  permitd store copy --from STORE --to STORE
                                           copy every record to an empty store (a bbolt file or postgres://…)
                                           and check the copy: counts, digests, status bits, the audit chain
  permitd store stats                      the room each kind of record takes in the store file, per permit
  permitd store generate --count N [--seed S] [--revoked F] [--suspended F] [--age-days MIN-MAX] [--photo FILE] [--list FILE]
                                           fill a new data directory with N synthetic permits, for load tests
                                           (docs/performance.md); resumable; --list writes their numbers
  permitd apps export --out DIR --base-url URL
                                           write the browser apps as static files for another web server

Common flags (each also read from the environment variable in brackets):
  --data DIR           data directory: store, keys [PERMITD_DATA, default ./var]
  --store STORE        the records: a postgres:// URL (several replicas may share the database), or a
                       bbolt file [PERMITD_STORE, default DIR/permitd.db]
  --authorities FILE   issuing authorities hosted, JSON; default: one provincial authority [PERMITD_AUTHORITIES]
  --retention DAYS     how long a revoked permit's personal data is kept [PERMITD_RETENTION, default 730]

Serve flags:
  --addr HOST:PORT     listen address [PERMITD_ADDR, default 127.0.0.1:8080]
  --base-url URL       public URL; iss values are BASE/SLUG [PERMITD_BASE_URL, default http(s)://ADDR]
  --tls-cert FILE      serve TLS with this certificate chain [PERMITD_TLS_CERT]
  --tls-key FILE       and this key [PERMITD_TLS_KEY]
  --log-format F       text or json [PERMITD_LOG_FORMAT, default text]
  --rate-limit N       residents' requests per second per address [PERMITD_RATE_LIMIT, default 2]
  --metrics-token T    the bearer token /metrics asks for; none: /metrics is open [PERMITD_METRICS_TOKEN]
  --trusted-proxy CIDR a reverse proxy whose X-Forwarded-For names the client (repeatable) [PERMITD_TRUSTED_PROXIES, comma-separated]

With --server, token, backup and endorse call a running service with an official's token in PERMITD_TOKEN.
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
	case errors.Is(err, issuer.ErrInvalidRequest):
		fmt.Fprintf(stderr, "permitd: %v\n", err)
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
	if cmd != "serve" && cmd != "backup" && cmd != "restore" && cmd != "endorse" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch cmd + " " + sub {
	case "serve ":
		return serveCmd(ctx, args, stdout, stderr, hup)
	case "token create":
		return tokenCreate(args, stdout, stderr)
	case "token list":
		return tokenList(args, stdout)
	case "token revoke":
		return tokenRevoke(args, stdout)
	case "backup ":
		return backupCmd(args, stdout)
	case "restore ":
		return restoreCmd(args, stdout)
	case "endorse ":
		return endorseCmd(args, stdout, stderr)
	case "audit verify":
		return auditVerify(args, stdout)
	case "keys rotate":
		return keysRotate(args, stdout)
	case "keys rotate-kek":
		return keysRotateKEK(args, stdout)
	case "store compact":
		return storeCompact(args, stdout)
	case "store copy":
		return storeCopy(args, stdout)
	case "store stats":
		return storeStats(args, stdout)
	case "store generate":
		return storeGenerate(ctx, args, stdout, stderr)
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
	fs.StringVar(&c.store, "store", os.Getenv("PERMITD_STORE"), "")
	c.baseURL = strings.TrimSuffix(envOr("PERMITD_BASE_URL", "http://127.0.0.1:8080"), "/")
	c.retention = 730 * 24 * time.Hour
	fs.Func("retention", "", func(v string) error {
		d, err := strconv.Atoi(v)
		if err != nil || d < 1 || d > 36500 {
			return fmt.Errorf("--retention %q: want a number of days", v)
		}
		c.retention = time.Duration(d) * 24 * time.Hour
		return nil
	})
	if v := os.Getenv("PERMITD_RETENTION"); v != "" {
		if err := fs.Set("retention", v); err != nil {
			c.retention = -1
		}
	}
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
	if r := fs.Lookup("retention"); r != nil && os.Getenv("PERMITD_RETENTION") != "" {
		if _, err := strconv.Atoi(os.Getenv("PERMITD_RETENTION")); err != nil {
			return fmt.Errorf("%w: PERMITD_RETENTION=%q is not a number of days", errUsage, os.Getenv("PERMITD_RETENTION"))
		}
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
