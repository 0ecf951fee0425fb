// Package server is the HTTP API of the issuer service permitd: residents'
// applications, officials' decisions and status changes, OpenID4VCI
// issuance to wallets, and the public keys, trust list and status lists that
// offline verifiers fetch. It is an adapter: the rules live in the issuing
// authority's domain (issuer.Service), which keeps its records in a storage
// adapter (store/boltdb or store/postgres); this package maps HTTP to it.
//
// Every route runs behind the same middleware: a request id, a body cap
// (413), a recover that answers 500 without details, structured access logs
// that never carry a token or a citizen identity number, and request metrics.
// Officials authenticate with a bearer token whose role the route requires
// (401 without a valid token, 403 with the wrong role). Residents' routes
// are rate-limited per client address (429). JSON bodies with unknown
// fields are refused (400).
package server

import (
	"crypto"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"crypto/rand"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/permit"
)

// Authority is an issuing authority hosted by the service.
type Authority = issuer.Authority

// Config is what New needs.
type Config struct {
	// BaseURL is the public URL of the service, without a trailing slash.
	BaseURL string
	// Service is the issuing authority's domain: the rules and the records.
	Service *issuer.Service
	// Root signs the trust list.
	Root crypto.Signer
	// TempDir holds backups while they are sent; "" means the system's.
	TempDir string
	// Logger receives access and error logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the service's metrics; nil makes a new one.
	Registry *prometheus.Registry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of the credentials' salts; nil means crypto/rand.
	Rand io.Reader
	// MaxBody caps request bodies; 0 means 512 KiB.
	MaxBody int64
	// RateLimit and RateBurst limit residents' requests per client address;
	// 0 means 2 per second with a burst of 10.
	RateLimit float64
	RateBurst int
	// StatusTTL is the ttl of status list tokens, the time verifiers may
	// cache them; 0 means 5 minutes.
	StatusTTL time.Duration
	// SessionKey protects the officers' console sessions (cookies); at
	// least 32 bytes, the same for every replica. nil makes a random one,
	// so that sessions do not outlive the process.
	SessionKey []byte
	// SessionIdle is how long a console session lasts without use; 0 means
	// 15 minutes.
	SessionIdle time.Duration
	// Apps serves the browser apps under /verify/, /wallet/ and /app/ (package
	// web); nil serves none.
	Apps http.Handler
	// MetricsToken, when set, is the bearer token /metrics requires; empty
	// leaves /metrics open (as Prometheus scrapers on a private network
	// expect).
	MetricsToken string
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For names the client, for rate limiting; empty means
	// clients connect directly and the header is ignored.
	TrustedProxies []*net.IPNet
}

// Server serves the API. Use [Server.Handler] with an http.Server.
type Server struct {
	cfg     Config
	svc     *issuer.Service
	e       *echo.Echo
	log     *slog.Logger
	metrics *metrics
	session *sessions

	statusMu    sync.Mutex
	statusCache map[string]*cached

	trustMu    sync.Mutex
	trustCache *cached
	trustInput string
	trustVer   int64
}

// reservedSlugs are the first path segments of the service's own routes:
// an authority's issuer identifier BASE/SLUG, and the metadata under
// BASE/SLUG/.well-known/, must not fall on them.
var reservedSlugs = []string{"app", "credential", "healthz", "metrics", "nonce", "officer", "readyz", "status", "token", "trust-list", "v1", "verify", "wallet"}

// New checks cfg and returns a server with every route in place.
func New(cfg Config) (*Server, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server: base url %q: want http(s)://host[:port][/path]", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.Service == nil || cfg.Root == nil {
		return nil, errors.New("server: the issuing service and a root key are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 512 << 10
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit, cfg.RateBurst = 2, 10
	}
	if cfg.StatusTTL == 0 {
		cfg.StatusTTL = 5 * time.Minute
	}
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = 15 * time.Minute
	}
	for _, a := range cfg.Service.Authorities() {
		if slices.Contains(reservedSlugs, a.Slug) {
			return nil, fmt.Errorf("server: authority %q: the slug is a path of the service (%s)", a.Slug, strings.Join(reservedSlugs, ", "))
		}
	}
	s := &Server{cfg: cfg, svc: cfg.Service, log: cfg.Logger, statusCache: map[string]*cached{}}
	if s.session, err = newSessions(cfg.SessionKey, cfg.SessionIdle, cfg.Rand, u.Scheme == "https"); err != nil {
		return nil, err
	}
	s.metrics, err = newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s.e = s.routes()
	return s, nil
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return s.e }

// issuerID returns the iss of an authority.
func (s *Server) issuerID(a *Authority) string { return s.svc.IssuerID(a) }

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Client addresses come from the connection, and from X-Forwarded-For
	// only as far as it was written by a trusted proxy.
	e.IPExtractor = echo.ExtractIPDirect()
	if len(s.cfg.TrustedProxies) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range s.cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: s.requestID}))
	e.Use(s.accessLog)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.log.Error("panic", "request_id", requestID(c), "route", c.Path(), "err", err)
		return err
	}}))
	e.Use(middleware.BodyLimit(fmt.Sprintf("%dB", s.cfg.MaxBody)))
	e.Use(noStore)

	limited := middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(s.cfg.RateLimit), Burst: s.cfg.RateBurst, ExpiresIn: 3 * time.Minute}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
		ErrorHandler: func(c echo.Context, err error) error {
			return apiErrorZH(http.StatusForbidden, "forbidden", "无法识别客户端地址", "cannot identify the client")
		},
		DenyHandler: func(c echo.Context, id string, err error) error {
			c.Response().Header().Set("Retry-After", "1")
			return apiErrorZH(http.StatusTooManyRequests, "rate_limited", "此地址请求过于频繁，请稍后再试", "too many requests from this address; try again shortly")
		},
	})

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler(s.cfg.Registry)), s.metricsAuth)

	e.Match(getHead, "/.well-known/jwks.json", s.jwks)
	e.Match(getHead, "/.well-known/jwt-vc-issuer", s.vcIssuerMetadata)
	e.Match(getHead, "/.well-known/jwt-vc-issuer/:slug", s.vcIssuerMetadata)
	e.Match(getHead, "/.well-known/openid-credential-issuer", s.credentialIssuerMetadata)
	e.Match(getHead, "/.well-known/openid-credential-issuer/:slug", s.credentialIssuerMetadata)
	e.Match(getHead, "/.well-known/oauth-authorization-server", s.authServerMetadata)
	e.Match(getHead, "/.well-known/oauth-authorization-server/:slug", s.authServerMetadata)
	// The same documents where clients of earlier drafts look: the
	// well-known suffix appended to the issuer identifier.
	e.Match(getHead, "/:slug/.well-known/openid-credential-issuer", s.credentialIssuerMetadata)
	e.Match(getHead, "/:slug/.well-known/oauth-authorization-server", s.authServerMetadata)
	e.Match(getHead, "/trust-list", s.trustList)
	e.Match(getHead, "/status/:list", s.statusList)

	e.POST("/v1/applications", s.submit, limited)
	// An application reads differently for its applicant (the secret) and
	// for an officer (a token or console session): see application.
	e.GET("/v1/applications/:id", s.application, s.residentOrOfficial(limited))

	officer, revoker, auditor, admin := s.require(issuer.RoleOfficer), s.require(issuer.RoleRevoker), s.require(issuer.RoleAuditor), s.require(issuer.RoleAdmin)
	e.GET("/v1/applications", s.queue, officer)
	e.GET("/v1/applications/:id/photo", s.applicationPhoto, officer)
	e.POST("/v1/applications/:id/approve", s.approve, officer)
	e.POST("/v1/applications/:id/reject", s.reject, officer)
	e.POST("/v1/search", s.search, s.require(issuer.RoleOfficer, issuer.RoleRevoker, issuer.RoleAuditor))
	e.GET("/v1/permits/:no", s.permit, s.require(issuer.RoleOfficer, issuer.RoleRevoker, issuer.RoleAuditor))
	e.GET("/v1/permits/:no/photo", s.photo, officer)
	e.POST("/v1/permits/:no/endorse", s.endorse, officer)
	e.POST("/v1/permits/:no/offers", s.reissue, officer)
	e.POST("/v1/permits/:no/revoke", s.setStatus(issuer.Revoke), revoker)
	e.POST("/v1/permits/:no/suspend", s.setStatus(issuer.Suspend), revoker)
	e.POST("/v1/permits/:no/reinstate", s.setStatus(issuer.Reinstate), revoker)
	e.POST("/v1/endorsements", s.endorseBatch, officer)
	e.GET("/v1/audit", s.auditLog, auditor)
	e.GET("/v1/audit/checkpoint", s.auditCheckpoint, auditor)
	e.GET("/v1/admin/tokens", s.listTokens, admin)
	e.POST("/v1/admin/tokens", s.createToken, admin)
	e.DELETE("/v1/admin/tokens/:id", s.revokeToken, admin)
	e.GET("/v1/admin/backup", s.backup, admin)
	e.GET("/v1/session", s.whoami, s.require(issuer.RoleOfficer, issuer.RoleRevoker, issuer.RoleAuditor))
	e.POST("/v1/session", s.login)
	e.DELETE("/v1/session", s.logout)

	e.POST("/token", s.token, limited)
	e.POST("/nonce", s.nonce)
	e.POST("/credential", s.credential)
	e.POST("/credential/refresh", s.refresh, limited)

	if s.cfg.Apps != nil {
		apps := echo.WrapHandler(s.cfg.Apps)
		for _, p := range []string{"/verify", "/verify/*", "/wallet", "/wallet/*", "/officer", "/officer/*", "/app/*"} {
			e.Match(getHead, p, apps)
		}
	}
	return e
}

// metricsAuth asks for the metrics token when one is configured.
func (s *Server) metricsAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.MetricsToken == "" {
			return next(c)
		}
		tok, ok := bearer(c.Request())
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.MetricsToken)) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			return apiErrorZH(http.StatusUnauthorized, "unauthorized", "需要监控令牌", "the metrics token is required")
		}
		return next(c)
	}
}

// noStore keeps the answers of the /v1/ API, /token, /nonce and /credential
// out of every cache: they carry offers (bearer codes), secrets, nonces and
// personal data.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Request().URL.Path; strings.HasPrefix(p, "/v1/") || p == "/token" || p == "/nonce" || strings.HasPrefix(p, "/credential") {
			c.Response().Header().Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

// getHead are the methods of the public documents.
var getHead = []string{http.MethodGet, http.MethodHead}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports ready when the store answers and every authority can sign.
func (s *Server) readyz(c echo.Context) error {
	if _, err := s.svc.Lists(c.Request().Context(), s.svc.Authorities()[0].Slug); err != nil {
		return apiErrorZH(http.StatusServiceUnavailable, "store_unavailable", "存储无响应", "the store does not answer")
	}
	for _, a := range s.svc.Authorities() {
		if _, _, err := a.Keys.Active(); err != nil {
			return apiErrorZH(http.StatusServiceUnavailable, "no_signing_key", "发证机关 "+a.Slug+" 没有可用的签名密钥", "authority "+a.Slug+" has no active key")
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// today is the current date in China, the date of decisions and endorsements.
func (s *Server) today() permit.Date { return permit.DateOf(s.cfg.Now(), permit.ChinaTime()) }

// authorities returns the authorities hosted.
func (s *Server) authorities() []*Authority { return s.svc.Authorities() }
