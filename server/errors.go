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
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/vault"
)

// Error is the body of every error answer: a stable code, a message in
// English and in Chinese, and the request id to quote when asking for help.
// Some errors carry more: the problems of an invalid application, for
// example.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
	// MessageZH says the same in Chinese.
	MessageZH string `json:"message_zh,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Problems lists what is wrong with an application's fields.
	Problems any `json:"problems,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// apiErrorZH is apiError with the message in Chinese too.
func apiErrorZH(status int, code, zh, en string) *Error {
	return &Error{Status: status, Code: code, Message: en, MessageZH: zh}
}

// kindStatus is the HTTP status of each kind of refusal of the service.
var kindStatus = map[issuer.Kind]int{
	issuer.KindNotFound: http.StatusNotFound, issuer.KindConflict: http.StatusConflict,
	issuer.KindForbidden: http.StatusForbidden, issuer.KindUnauthorized: http.StatusUnauthorized,
	issuer.KindInvalidGrant: http.StatusBadRequest, issuer.KindInvalidRequest: http.StatusBadRequest,
}

// serviceError maps an error of the issuing service to an answer.
func serviceError(err error) error {
	var e *issuer.Error
	var ve *permit.ValidationError
	switch {
	case errors.As(err, &e):
		return apiErrorZH(kindStatus[e.Kind], e.Code, e.ZH, e.EN)
	case errors.As(err, &ve):
		ae := apiErrorZH(http.StatusBadRequest, "invalid_application", "申请表有错误，请逐项修改", "the application has invalid fields")
		ae.Problems = ve.Problems
		return ae
	case errors.Is(err, audit.ErrInvalid):
		// What officials write goes into the audit log, which refuses control
		// characters and anything shaped like a full citizen ID number.
		return apiErrorZH(http.StatusBadRequest, "invalid_text", "文字中不能有控制字符或完整的公民身份号码，请写遮蔽后的号码",
			"the text may not hold control characters or a full citizen ID number; write the masked number")
	case errors.Is(err, vault.ErrShredded):
		return apiErrorZH(http.StatusGone, "data_deleted", "该记录的个人信息已依法删除", "the record's personal data was deleted")
	}
	return err
}

// errorHandler writes errors as JSON. Unexpected errors are logged with the
// request id and answered with a generic message.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	err = serviceError(err)
	var ae *Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &he):
		ae = &Error{Status: he.Code, Code: strings.ToLower(strings.ReplaceAll(http.StatusText(he.Code), " ", "_")), Message: fmt.Sprint(he.Message),
			MessageZH: fmt.Sprintf("请求未能处理（HTTP %d）", he.Code)}
		switch he.Code {
		case http.StatusNotFound:
			ae.MessageZH, ae.Message = "没有这个地址", "no such path"
		case http.StatusMethodNotAllowed:
			ae.MessageZH, ae.Message = "该地址不接受此请求方法", "this path does not take this method"
		case http.StatusRequestEntityTooLarge:
			ae.MessageZH, ae.Message = fmt.Sprintf("请求体超过 %d 字节", s.cfg.MaxBody), fmt.Sprintf("the request body is larger than %d bytes", s.cfg.MaxBody)
		}
	default:
		s.log.Error("request failed", "request_id", requestID(c), "route", c.Path(), "err", err)
		ae = apiErrorZH(http.StatusInternalServerError, "internal_error", "服务内部错误；求助时请提供请求编号", "internal error; quote the request id")
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

// officialKey is the context key of the authenticated official's token.
const officialKey = "official"

// authenticate returns the official of a request: a bearer token, or a
// console session cookie (whose state-changing requests must carry the
// session's CSRF token).
func (s *Server) authenticate(c echo.Context) (issuer.Official, error) {
	r := c.Request()
	ctx := r.Context()
	if secret, ok := bearer(r); ok {
		t, err := s.svc.Authenticate(ctx, secret, s.cfg.Now())
		if err != nil {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="permitd", error="invalid_token"`)
			return issuer.Official{}, apiErrorZH(http.StatusUnauthorized, "unauthorized", "令牌无效、已过期或已吊销", "unknown, expired or revoked token")
		}
		return t, nil
	}
	secret, err := s.session.read(c, s.cfg.Now())
	if err != nil {
		return issuer.Official{}, err
	}
	if secret == "" {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="permitd"`)
		return issuer.Official{}, apiErrorZH(http.StatusUnauthorized, "unauthorized", "需要工作人员令牌或登录", "an official's bearer token or console session is required")
	}
	t, err := s.svc.Authenticate(ctx, secret, s.cfg.Now())
	if err != nil {
		s.session.clear(c)
		return issuer.Official{}, apiErrorZH(http.StatusUnauthorized, "unauthorized", "登录已失效，请重新登录", "the session's token is expired or revoked; log in again")
	}
	return t, nil
}

// require admits a request whose official has one of the roles (an
// administrator has all).
func (s *Server) require(roles ...issuer.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			t, err := s.authenticate(c)
			if err != nil {
				return err
			}
			for _, r := range roles {
				if t.Role.Allows(r) {
					c.Set(officialKey, t)
					return next(c)
				}
			}
			return apiErrorZH(http.StatusForbidden, "forbidden", fmt.Sprintf("需要 %s 角色的令牌；此令牌的角色是 %s", joinRoles(roles), t.Role),
				fmt.Sprintf("a token with role %s is required; this one has role %s", joinRoles(roles), t.Role))
		}
	}
}

// residentOrOfficial routes a request with an official's token or session
// to require(officer), and any other (a resident with an application's
// secret) through residents' rate limit.
func (s *Server) residentOrOfficial(limited echo.MiddlewareFunc) echo.MiddlewareFunc {
	officer := s.require(issuer.RoleOfficer, issuer.RoleAuditor, issuer.RoleRevoker)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		asOfficial, asResident := officer(next), limited(next)
		return func(c echo.Context) error {
			if tok, ok := bearer(c.Request()); (ok && strings.HasPrefix(tok, issuer.TokenPrefix)) || (!ok && s.session.present(c)) {
				return asOfficial(c)
			}
			return asResident(c)
		}
	}
}

func joinRoles(rs []issuer.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// official returns the authenticated official of a request.
func official(c echo.Context) issuer.Official {
	t, _ := c.Get(officialKey).(issuer.Official)
	return t
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
		return apiErrorZH(http.StatusUnsupportedMediaType, "unsupported_media_type", "请以 application/json 发送", "send application/json")
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
		return apiErrorZH(http.StatusBadRequest, "malformed_body", "请求体不是格式正确的 JSON："+clip(err.Error()), "malformed JSON body: "+clip(err.Error()))
	}
	if dec.More() {
		return apiErrorZH(http.StatusBadRequest, "malformed_body", "请求体不是格式正确的 JSON：对象之后还有数据", "malformed JSON body: data after the object")
	}
	return nil
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
