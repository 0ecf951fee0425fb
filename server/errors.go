package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/store"
)

// Error is the body of every error answer: a stable code, a message in
// English, and the request id to quote when asking for help. Some errors
// carry more: the problems of an invalid application, for example.
type Error struct {
	Status    int    `json:"-"`
	Code      string `json:"error"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
	// Problems lists what is wrong with an application's fields.
	Problems any `json:"problems,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// storeError maps a store error to an answer.
func storeError(err error, what string) error {
	var ce *store.ConflictError
	switch {
	case errors.As(err, &ce):
		return apiError(http.StatusConflict, ce.Code, ce.Reason)
	case errors.Is(err, store.ErrNotFound):
		return apiError(http.StatusNotFound, "not_found", what+" not found")
	case errors.Is(err, audit.ErrInvalid):
		// What officials write goes into the audit log, which refuses control
		// characters and anything shaped like a full citizen ID number.
		return apiError(http.StatusBadRequest, "invalid_text", "the text may not hold control characters or a full citizen ID number; write the masked number")
	}
	return err
}

// errorHandler writes errors as JSON. Unexpected errors are logged with the
// request id and answered with a generic message.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &he):
		ae = &Error{Status: he.Code, Code: strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")), Message: fmt.Sprint(he.Message)}
		if he.Code == http.StatusRequestEntityTooLarge {
			ae.Message = fmt.Sprintf("the request body is larger than %d bytes", s.cfg.MaxBody)
		}
	default:
		s.log.Error("request failed", "request_id", requestID(c), "route", c.Path(), "err", err)
		ae = apiError(http.StatusInternalServerError, "internal_error", "internal error; quote the request id")
	}
	out := *ae
	out.RequestID = requestID(c)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(out.Status)
		return
	}
	_ = c.JSON(out.Status, out)
}

func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

func (s *Server) requestID() string {
	var b [9]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return fmt.Sprint(time.Now().UnixNano())
	}
	return fmt.Sprintf("%x", b)
}

// accessLog logs one line per request and observes its latency. It logs the
// route pattern, not the path, so permit numbers and application ids stay
// out of the log.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		d := time.Since(start)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		s.metrics.observe(c.Request().Method, route, status, d)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(c.Request().Context(), level, "request",
			slog.String("request_id", requestID(c)), slog.String("method", c.Request().Method),
			slog.String("route", route), slog.Int("status", status), slog.Duration("latency", d),
			slog.String("client", c.RealIP()))
		return nil
	}
}

// official is the context key of the authenticated official's token.
const officialKey = "official"

// require admits a request whose bearer token has one of the roles (an
// administrator has all).
func (s *Server) require(roles ...store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			secret, ok := bearer(c.Request())
			if !ok {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="permitd"`)
				return apiError(http.StatusUnauthorized, "unauthorized", "an official's bearer token is required")
			}
			t, err := s.cfg.Store.Authenticate(secret)
			if err != nil {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="permitd", error="invalid_token"`)
				return apiError(http.StatusUnauthorized, "unauthorized", "unknown token")
			}
			for _, r := range roles {
				if t.Role.Allows(r) {
					c.Set(officialKey, t)
					return next(c)
				}
			}
			return apiError(http.StatusForbidden, "forbidden", fmt.Sprintf("a token with role %s is required; this one has role %s", joinRoles(roles), t.Role))
		}
	}
}

func joinRoles(rs []store.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// covers refuses (403) an official whose token is limited to another
// issuing authority than the record's.
func covers(c echo.Context, authority string) error {
	t, _ := c.Get(officialKey).(store.APIToken)
	if t.Covers(authority) {
		return nil
	}
	return apiError(http.StatusForbidden, "other_authority", fmt.Sprintf("this token acts for authority %s; the record belongs to %s", t.Authority, authority))
}

// actor returns who is acting, for the audit log.
func actor(c echo.Context) store.Actor {
	t, _ := c.Get(officialKey).(store.APIToken)
	return store.Actor{Name: t.Name + " (" + t.ID + ")", Role: t.Role}
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

// decodeJSON reads a JSON body into v, refusing unknown fields, trailing
// data and a content type other than JSON.
func decodeJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return apiError(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err // the body limit's 413 comes through here
	}
	return decodeBytes(body, v)
}

// decodeBytes decodes a JSON body into v, refusing unknown fields and
// trailing data.
func decodeBytes(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apiError(http.StatusBadRequest, "malformed_body", "malformed JSON body: "+clip(err.Error()))
	}
	if dec.More() {
		return apiError(http.StatusBadRequest, "malformed_body", "malformed JSON body: data after the object")
	}
	return nil
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
