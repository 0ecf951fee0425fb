package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/server"
	"github.com/epermit/epermit/web"
)

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) error {
	var c common
	fs := flags("serve", &c)
	addr := fs.String("addr", envOr("PERMITD_ADDR", "127.0.0.1:8080"), "")
	baseURL := fs.String("base-url", os.Getenv("PERMITD_BASE_URL"), "")
	certFile := fs.String("tls-cert", os.Getenv("PERMITD_TLS_CERT"), "")
	keyFile := fs.String("tls-key", os.Getenv("PERMITD_TLS_KEY"), "")
	logFormat := fs.String("log-format", envOr("PERMITD_LOG_FORMAT", "text"), "")
	rateLimit := fs.Float64("rate-limit", 2, "")
	if v := os.Getenv("PERMITD_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return fmt.Errorf("%w: PERMITD_RATE_LIMIT=%q is not a positive number", errUsage, v)
		}
		*rateLimit = f
	}
	metricsToken := fs.String("metrics-token", os.Getenv("PERMITD_METRICS_TOKEN"), "")
	var proxies []string
	fs.Func("trusted-proxy", "", func(v string) error { proxies = append(proxies, v); return nil })
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rateLimit <= 0 {
		return fmt.Errorf("%w: --rate-limit %v: want a positive number", errUsage, *rateLimit)
	}
	if v := os.Getenv("PERMITD_TRUSTED_PROXIES"); v != "" && len(proxies) == 0 {
		proxies = strings.Split(v, ",")
	}
	var trusted []*net.IPNet
	for _, p := range proxies {
		_, n, err := net.ParseCIDR(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("%w: --trusted-proxy %q: want a CIDR such as 10.0.0.0/8", errUsage, p)
		}
		trusted = append(trusted, n)
	}
	if (*certFile == "") != (*keyFile == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	var h slog.Handler
	switch *logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, nil)
	case "json":
		h = slog.NewJSONHandler(stderr, nil)
	default:
		return fmt.Errorf("%w: --log-format %q: want text or json", errUsage, *logFormat)
	}
	log := slog.New(h)
	setGC()

	t := now()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if *certFile != "" {
		scheme = "https"
	}
	if *baseURL == "" {
		// The base URL goes into every credential (iss) and the trust list:
		// a wildcard address is no place a wallet or verifier can reach.
		if ip := ln.Addr().(*net.TCPAddr).IP; ip.IsUnspecified() {
			ln.Close()
			return fmt.Errorf("%w: listening on %s needs --base-url, the address wallets and verifiers reach this service at", errUsage, *addr)
		}
		*baseURL = scheme + "://" + ln.Addr().String()
	}
	c.baseURL = strings.TrimSuffix(*baseURL, "/")
	e, err := c.open(t, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer e.close()
	auths := e.auths
	pin := keys.Thumbprint(e.root.Public().(ed25519.PublicKey))
	apps, err := web.New(web.Config{Pin: pin, Issuer: c.baseURL})
	if err != nil {
		ln.Close()
		return err
	}
	srv, err := server.New(server.Config{BaseURL: c.baseURL, Service: e.svc, Now: now, Root: e.root, Logger: log, TempDir: c.data,
		SessionKey: sessionKey(e.indexKey), RateLimit: *rateLimit, RateBurst: max(10, int(*rateLimit*5)), Apps: apps,
		TrustedProxies: trusted, MetricsToken: *metricsToken})
	if err != nil {
		ln.Close()
		return err
	}
	firstToken, err := e.svc.Bootstrap(ctx, t)
	if err != nil {
		ln.Close()
		return err
	}
	mctx, stopMaintain := context.WithCancel(context.WithoutCancel(ctx))
	maintained := make(chan struct{})
	go func() { e.svc.Maintain(mctx, time.Minute); close(maintained) }()
	defer func() { stopMaintain(); <-maintained }()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(h, slog.LevelWarn)}

	base := c.baseURL
	if listen := scheme + "://" + ln.Addr().String(); listen != base {
		fmt.Fprintf(stdout, "permitd listening on %s, public URL %s (data in %s)\n", listen, base, c.data)
	} else {
		fmt.Fprintf(stdout, "permitd listening on %s (data in %s)\n", base, c.data)
	}
	for _, a := range auths {
		fmt.Fprintf(stdout, "  issuer %-8s %s/%s  (%s)\n", a.Slug, base, a.Slug, a.Name.EN)
	}
	fmt.Fprintf(stdout, "  trust list      %s/trust-list   root key %s\n", base, pin)
	fmt.Fprintf(stdout, "  audit key       %s (pin it: permitd audit verify --pin %s)\n", keys.Thumbprint(e.auditKey.Public().(ed25519.PublicKey)), keys.Thumbprint(e.auditKey.Public().(ed25519.PublicKey)))
	if apps.Built() {
		fmt.Fprintf(stdout, "  apps            %s/officer/ (officers' console)  %s/verify/ (officials' verifier)  %s/wallet/ (residents' wallet)\n", base, base, base)
	} else {
		fmt.Fprintf(stdout, "  apps            not built into this binary (make wasm, then build again)\n")
	}
	fmt.Fprintf(stdout, "  issuer keys     %s/.well-known/jwks.json\n", base)
	fmt.Fprintf(stdout, "  health, metrics %s/healthz  %s/metrics\n", base, base)
	// The commands below work as printed, in this order, in another
	// terminal in the directory permitd was started in (the repository,
	// for make run); README.md's commands use the variables they set.
	vars := "PERMITD_URL=" + shellWord(base) + " PERMITD_PIN=" + pin
	if firstToken != "" {
		fmt.Fprintf(stdout, "\nAdministrator token (shown only now; keep it safe):\n  %s\n", firstToken)
		fmt.Fprintf(stdout, "Next: in another terminal in this directory, set what README.md's commands use, make an officer's token, apply:\n")
		vars += " PERMITD_TOKEN=" + firstToken
	} else {
		fmt.Fprintf(stdout, "Next: in another terminal in this directory, with PERMITD_TOKEN set to an administrator token:\n")
	}
	fmt.Fprintf(stdout, "  export %s\n", vars)
	fmt.Fprintf(stdout, "  %s token create --server \"$PERMITD_URL\" --role officer --name \"counter 3\"\n", shellWord(os.Args[0]))
	fmt.Fprintf(stdout, "  curl -X POST \"$PERMITD_URL/v1/applications\" -H 'Content-Type: application/json' -d \"{\\\"application\\\": $(cat examples/application-adult-hangzhou.json)}\"\n")
	log.Info("permitd started", "addr", ln.Addr().String(), "base_url", base, "authorities", len(auths))

	keyCheck := time.NewTicker(keyReloadEvery)
	defer keyCheck.Stop()
	errc := make(chan error, 1)
	go func() {
		if *certFile != "" {
			errc <- hs.ServeTLS(ln, *certFile, *keyFile)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	for {
		select {
		case err := <-errc:
			if !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		case <-hup:
			reloadKeys(&c, auths, log)
		case <-keyCheck.C:
			// Replicas share the keys directory: a key another replica's
			// operator rotated is picked up without a signal or restart.
			reloadKeys(&c, auths, log)
		case <-ctx.Done():
			log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil {
				return err
			}
			log.Info("stopped")
			return nil
		}
	}
}

// keyReloadEvery is how often the service looks for a signing key made by
// "permitd keys rotate" (SIGHUP makes it look at once).
const keyReloadEvery = time.Minute

// shellWord quotes s for a POSIX shell when it needs quoting.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// gcPercent is the collector's target unless GOGC is set.
const gcPercent = 400

// setGC sets the collector's target to gcPercent unless GOGC is set: the
// service and the bulk commands allocate a great deal of short-lived
// garbage, and collecting less often is worth a larger heap
// (docs/performance.md).
func setGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// sessionKey derives the console sessions' key from the index key, which
// every replica shares.
func sessionKey(indexKey []byte) []byte {
	m := hmac.New(sha256.New, indexKey)
	m.Write([]byte("epermit console sessions"))
	return m.Sum(nil)
}

// reloadKeys makes a key made by "permitd keys rotate" active.
func reloadKeys(c *common, auths []*issuer.Authority, log *slog.Logger) {
	for _, a := range auths {
		ring, err := keys.LoadRingDir(c.keyDir(a.Slug), now(), keyRetention)
		if err != nil {
			log.Error("reload keys", "authority", a.Slug, "err", err)
			continue
		}
		kid, signer, err := ring.Active()
		oldKid, _, _ := a.Keys.Active()
		if err != nil || kid == oldKid {
			continue
		}
		if err := a.Keys.Rotate(signer, now()); err != nil {
			log.Error("reload keys", "authority", a.Slug, "err", err)
			continue
		}
		log.Info("new signing key", "authority", a.Slug, "kid", kid)
	}
}
