package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/epermit/epermit/issuer"
)

// The officers' console keeps no bearer token where a page script could
// read it: the official types the token once, and POST /v1/session turns it
// into an HttpOnly, SameSite=Strict cookie (Secure when the service's
// public URL is https) holding it sealed (AES-GCM under
// the session key, which every replica shares), with an idle deadline that
// each request moves on. Requests that change anything must also carry the
// session's CSRF token in X-CSRF-Token. The token behind a session is
// checked on every request, so revoking or expiring it ends the session.

const (
	sessionCookie = "ep_session"
	csrfHeader    = "X-CSRF-Token"
)

type sessions struct {
	aead cipher.AEAD
	key  []byte
	idle time.Duration
	rand io.Reader
	// secure marks cookies Secure whatever the request's scheme: the
	// service's public URL is https (TLS may end at a proxy in front).
	secure bool
}

type sessionData struct {
	Secret  string `json:"s"`
	Expires int64  `json:"e"`
	CSRF    string `json:"c"`
	// Until is when the session ends however busy: a copied cookie does not
	// live on by being used.
	Until int64 `json:"u"`
}

// sessionMax is the longest a console session lasts, a working day.
const sessionMax = 12 * time.Hour

func newSessions(key []byte, idle time.Duration, r io.Reader, secure bool) (*sessions, error) {
	if key == nil {
		key = make([]byte, 32)
		if _, err := io.ReadFull(r, key); err != nil {
			return nil, err
		}
	}
	if len(key) < 32 {
		return nil, errors.New("server: session key of fewer than 32 bytes")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("epermit console session v1"))
	k := m.Sum(nil)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sessions{aead: aead, key: k, idle: idle, rand: r, secure: secure}, nil
}

func (ss *sessions) seal(d sessionData) (string, error) {
	plain, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, ss.aead.NonceSize())
	if _, err := io.ReadFull(ss.rand, nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(ss.aead.Seal(nonce, nonce, plain, []byte(sessionCookie))), nil
}

func (ss *sessions) open(v string) (sessionData, bool) {
	var d sessionData
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) < ss.aead.NonceSize()+ss.aead.Overhead() {
		return d, false
	}
	ns := ss.aead.NonceSize()
	plain, err := ss.aead.Open(nil, raw[:ns], raw[ns:], []byte(sessionCookie))
	if err != nil || json.Unmarshal(plain, &d) != nil {
		return d, false
	}
	return d, true
}

// cookie sets the session cookie, replacing one set earlier in the same
// answer (a deadline moved on before the token was found revoked).
func (ss *sessions) cookie(c echo.Context, value string, maxAge int) {
	c.Response().Header().Del("Set-Cookie")
	http.SetCookie(c.Response(), &http.Cookie{Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: ss.secure || c.Scheme() == "https"})
}

// present reports whether the request carries a session cookie.
func (ss *sessions) present(c echo.Context) bool {
	_, err := c.Cookie(sessionCookie)
	return err == nil
}

// clear removes the session cookie.
func (ss *sessions) clear(c echo.Context) { ss.cookie(c, "", -1) }

// start makes a session for a token and returns its CSRF token.
func (ss *sessions) start(c echo.Context, secret string, now time.Time) (string, error) {
	b := make([]byte, 18)
	if _, err := io.ReadFull(ss.rand, b); err != nil {
		return "", err
	}
	d := sessionData{Secret: secret, Expires: now.Add(ss.idle).Unix(), CSRF: base64.RawURLEncoding.EncodeToString(b), Until: now.Add(sessionMax).Unix()}
	v, err := ss.seal(d)
	if err != nil {
		return "", err
	}
	ss.cookie(c, v, int(ss.idle.Seconds()))
	return d.CSRF, nil
}

// read returns the token secret of the request's session ("" when there is
// none), checks its idle deadline and, for requests that change anything,
// its CSRF token, and moves the deadline on.
func (ss *sessions) read(c echo.Context, now time.Time) (string, error) {
	d, ok := ss.data(c)
	if !ok {
		return "", nil
	}
	if now.Unix() >= d.Expires {
		ss.clear(c)
		return "", apiErrorZH(http.StatusUnauthorized, "session_expired", "长时间未操作，登录已失效，请重新登录", "the session ended after a time without use; log in again")
	}
	if now.Unix() >= d.Until {
		ss.clear(c)
		return "", apiErrorZH(http.StatusUnauthorized, "session_expired", "登录已超过 12 小时，请重新登录", "the session is more than 12 hours old; log in again")
	}
	switch c.Request().Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		got := c.Request().Header.Get(csrfHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(d.CSRF)) != 1 {
			return "", apiErrorZH(http.StatusForbidden, "csrf", "请求缺少本次登录的 CSRF 令牌", "the request lacks this session's CSRF token (X-CSRF-Token)")
		}
	}
	d.Expires = min(now.Add(ss.idle).Unix(), d.Until)
	if v, err := ss.seal(d); err == nil {
		ss.cookie(c, v, int(ss.idle.Seconds()))
	}
	return d.Secret, nil
}

func (ss *sessions) data(c echo.Context) (sessionData, bool) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return sessionData{}, false
	}
	return ss.open(ck.Value)
}

// SessionRequest is the body of POST /v1/session.
type SessionRequest struct {
	Token string `json:"token"`
}

// SessionResponse describes a console session.
type SessionResponse struct {
	CSRF      string      `json:"csrf"`
	Name      string      `json:"name"`
	Role      issuer.Role `json:"role"`
	Authority string      `json:"authority,omitempty"`
	// Authorities are those the official may act for.
	Authorities []AuthorityInfo `json:"authorities"`
	Expires     time.Time       `json:"token_expires"`
	IdleSeconds int             `json:"idle_seconds"`
}

// AuthorityInfo names a hosted authority.
type AuthorityInfo struct {
	Slug   string `json:"slug"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	Region string `json:"region"`
}

func (s *Server) sessionResponse(t issuer.Official, csrf string) SessionResponse {
	r := SessionResponse{CSRF: csrf, Name: t.Name, Role: t.Role, Authority: t.Authority, Expires: t.Expires, IdleSeconds: int(s.cfg.SessionIdle.Seconds())}
	for _, a := range s.authorities() {
		if t.Covers(a.Slug) {
			r.Authorities = append(r.Authorities, AuthorityInfo{Slug: a.Slug, NameZH: a.Name.ZH, NameEN: a.Name.EN, Region: a.Region})
		}
	}
	return r
}

// login exchanges an official's token for a console session.
func (s *Server) login(c echo.Context) error {
	var req SessionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	req.Token = strings.TrimSpace(req.Token)
	t, err := s.svc.Authenticate(c.Request().Context(), req.Token, s.cfg.Now())
	if err != nil {
		return apiErrorZH(http.StatusUnauthorized, "unauthorized", "令牌无效、已过期或已吊销", "unknown, expired or revoked token")
	}
	csrf, err := s.session.start(c, req.Token, s.cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s.sessionResponse(t, csrf))
}

// whoami describes the current session (or token), with its CSRF token.
func (s *Server) whoami(c echo.Context) error {
	d, _ := s.session.data(c)
	return c.JSON(http.StatusOK, s.sessionResponse(official(c), d.CSRF))
}

// logout ends the console session.
func (s *Server) logout(c echo.Context) error {
	if d, ok := s.session.data(c); ok && subtle.ConstantTimeCompare([]byte(c.Request().Header.Get(csrfHeader)), []byte(d.CSRF)) != 1 {
		return apiErrorZH(http.StatusForbidden, "csrf", "请求缺少本次登录的 CSRF 令牌", "the request lacks this session's CSRF token (X-CSRF-Token)")
	}
	s.session.clear(c)
	return c.NoContent(http.StatusNoContent)
}
