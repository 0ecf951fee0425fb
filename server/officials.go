package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/qr"
)

// OfferResponse is a credential offer for the resident's wallet.
type OfferResponse struct {
	// URI is the openid-credential-offer:// link with the pre-authorized code.
	URI     string           `json:"uri"`
	Kind    issuer.OfferKind `json:"kind"`
	Expires time.Time        `json:"expires"`
	// QRPNG is the offer URI as a QR code, a PNG in base64, for the wallet to scan at the counter.
	QRPNG []byte `json:"qr_png"`
}

// PermitResponse is a permit record as officials see it, with the offer
// an action just made.
type PermitResponse struct {
	issuer.PermitView
	Offer *OfferResponse `json:"offer,omitempty"`
}

// offerResponse renders an offer as its link and QR code.
func (s *Server) offerResponse(g issuer.OfferGrant) (*OfferResponse, error) {
	a := s.svc.Authority(g.Authority)
	if a == nil {
		return nil, errors.New("offer of an authority no longer hosted")
	}
	uri := oid4vci.Offer{CredentialIssuer: s.issuerID(a), ConfigurationIDs: []string{ConfigurationID}, PreAuthorizedCode: g.Code}.URI()
	qc, err := qr.Encode([]byte(uri), qr.M)
	if err != nil {
		return nil, err
	}
	png, err := qc.PNG(4)
	if err != nil {
		return nil, err
	}
	return &OfferResponse{URI: uri, Kind: g.Kind, Expires: g.Expires, QRPNG: png}, nil
}

func (s *Server) withOffer(c echo.Context, status int, v issuer.PermitView, g issuer.OfferGrant) error {
	o, err := s.offerResponse(g)
	if err != nil {
		return err
	}
	return c.JSON(status, PermitResponse{PermitView: v, Offer: o})
}

// queue lists pending applications: ?authority=SLUG&order=oldest|newest&after=CURSOR&limit=N.
func (s *Server) queue(c echo.Context) error {
	q := issuer.QueueQuery{Authority: c.QueryParam("authority"), After: c.QueryParam("after"), Limit: 50}
	switch c.QueryParam("order") {
	case "", "oldest":
	case "newest":
		q.Newest = true
	default:
		return apiErrorZH(http.StatusBadRequest, "bad_query", "order 须为 oldest 或 newest", "order must be oldest or newest")
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return apiErrorZH(http.StatusBadRequest, "bad_query", "limit 须为 1 至 200", "limit must be 1 to 200")
		}
		q.Limit = n
	}
	items, next, err := s.svc.Queue(c.Request().Context(), official(c), q, s.cfg.Now())
	if err != nil {
		return err
	}
	if items == nil {
		items = []issuer.QueueItem{}
	}
	return c.JSON(http.StatusOK, map[string]any{"applications": items, "next": next})
}

// applicationPhoto serves a pending application's photo to an officer.
func (s *Server) applicationPhoto(c echo.Context) error {
	photo, ct, err := s.svc.ApplicationPhoto(c.Request().Context(), official(c), c.Param("id"), s.cfg.Now())
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, ct, photo)
}

// approve issues the permit of a pending application and offers its credential.
func (s *Server) approve(c echo.Context) error {
	if err := emptyBody(c); err != nil {
		return err
	}
	v, g, err := s.svc.Approve(c.Request().Context(), official(c), c.Param("id"), s.cfg.Now())
	if err != nil {
		return err
	}
	return s.withOffer(c, http.StatusCreated, v, g)
}

// ReasonsRequest is the body of a rejection.
type ReasonsRequest struct {
	Reasons []string `json:"reasons"`
}

// reject refuses a pending application with the officer's reasons.
func (s *Server) reject(c echo.Context) error {
	var req ReasonsRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	a, err := s.svc.Reject(c.Request().Context(), official(c), c.Param("id"), req.Reasons, s.cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, applicationResponse(a, s.svc.IssuerOf(a.Authority)))
}

// emptyBody refuses a body on a request that takes none, so a client that
// sends fields by mistake learns they were ignored.
func emptyBody(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var v struct{}
	return decodeBytes(body, &v)
}

// search finds records by permit number, application id or citizen ID,
// given in the body so that a citizen ID never appears in a URL or a log.
func (s *Server) search(c echo.Context) error {
	var q issuer.SearchQuery
	if err := decodeJSON(c, &q); err != nil {
		return err
	}
	hits, err := s.svc.Search(c.Request().Context(), official(c), q, s.cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"hits": hits})
}

// permit shows a permit record with its particulars, credentials and history.
func (s *Server) permit(c echo.Context) error {
	v, err := s.svc.Permit(c.Request().Context(), official(c), c.Param("no"), s.cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, PermitResponse{PermitView: v})
}

// photo serves a permit holder's photo to an officer or a verifying official.
func (s *Server) photo(c echo.Context) error {
	photo, ct, err := s.svc.Photo(c.Request().Context(), official(c), c.Param("no"), s.cfg.Now())
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, ct, photo)
}

// endorse records the yearly endorsement and offers the endorsed credential.
func (s *Server) endorse(c echo.Context) error {
	if err := emptyBody(c); err != nil {
		return err
	}
	v, g, err := s.svc.Endorse(c.Request().Context(), official(c), c.Param("no"), s.cfg.Now())
	if err != nil {
		return err
	}
	return s.withOffer(c, http.StatusOK, v, g)
}

// reissue makes a new offer for an active permit (a new phone, a lost offer).
func (s *Server) reissue(c echo.Context) error {
	if err := emptyBody(c); err != nil {
		return err
	}
	v, g, err := s.svc.Reissue(c.Request().Context(), official(c), c.Param("no"), s.cfg.Now())
	if err != nil {
		return err
	}
	return s.withOffer(c, http.StatusCreated, v, g)
}

// ReasonRequest is the body of a revocation, suspension or reinstatement.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

// setStatus revokes, suspends or reinstates a permit; its status list
// changes at once.
func (s *Server) setStatus(action issuer.Action) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req ReasonRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		v, err := s.svc.SetStatus(c.Request().Context(), official(c), c.Param("no"), action, req.Reason, s.cfg.Now())
		if err != nil {
			return err
		}
		s.metrics.status.WithLabelValues(v.Authority, string(action)).Inc()
		return c.JSON(http.StatusOK, PermitResponse{PermitView: v})
	}
}

// EndorseBatchRequest is the body of POST /v1/endorsements: lines
// [first, first+len(permits)) of a bulk endorsement job.
type EndorseBatchRequest struct {
	Job     string   `json:"job"`
	First   int      `json:"first"`
	Permits []string `json:"permits"`
}

// endorseBatch endorses a batch of a bulk endorsement job.
func (s *Server) endorseBatch(c echo.Context) error {
	var req EndorseBatchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Permits) == 0 || len(req.Permits) > 5000 {
		return apiErrorZH(http.StatusBadRequest, "bad_batch", "每批 1 至 5000 个居住证号", "send 1 to 5000 permit numbers a batch")
	}
	res, job, err := s.svc.EndorseBatch(c.Request().Context(), official(c), req.Job, req.First, req.Permits, s.cfg.Now())
	if err != nil {
		return err
	}
	if res == nil {
		res = []issuer.EndorseResult{}
	}
	return c.JSON(http.StatusOK, map[string]any{"results": res, "job": job})
}

// auditLog pages through the audit log: ?after=SEQ&limit=N.
func (s *Server) auditLog(c echo.Context) error {
	after, err1 := strconv.ParseUint(c.QueryParam("after"), 10, 64)
	if c.QueryParam("after") == "" {
		after, err1 = 0, nil
	}
	limit, err2 := strconv.Atoi(c.QueryParam("limit"))
	if c.QueryParam("limit") == "" {
		limit, err2 = 100, nil
	}
	if err1 != nil || err2 != nil || limit < 1 || limit > 1000 {
		return apiErrorZH(http.StatusBadRequest, "bad_query", "after 须为序号，limit 须为 1 至 1000", "after must be a sequence number and limit 1 to 1000")
	}
	entries, err := s.svc.Audit(c.Request().Context(), official(c), after, limit)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []audit.Entry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}

// auditCheckpoint signs (if needed) and returns the latest audit
// checkpoint, for auditors to keep outside the service.
func (s *Server) auditCheckpoint(c echo.Context) error {
	if official(c).Authority != "" {
		// Its length counts every authority's activity.
		return apiErrorZH(http.StatusForbidden, "provincial_only", "审计检查点涵盖全省的审计日志，仅限省级审计员", "the audit checkpoint covers the whole province's log: for provincial auditors only")
	}
	cp, err := s.svc.Checkpoint(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cp)
}

// TokenRequest is the body of POST /v1/admin/tokens.
type TokenRequest struct {
	Role issuer.Role `json:"role"`
	Name string      `json:"name"`
	// Authority limits the token to one issuing authority (its slug); ""
	// for all. A token limited to one authority makes tokens for it only.
	Authority string `json:"authority,omitempty"`
	// TTLDays is the token's lifetime in days; 0 means the default (90).
	TTLDays int `json:"ttl_days,omitempty"`
}

// TokenResponse describes a token; Token, the secret, is in the answer
// that made it only.
type TokenResponse struct {
	Secret string `json:"token,omitempty"`
	issuer.Token
}

// createToken makes an official's token; the secret is in this answer only.
func (s *Server) createToken(c echo.Context) error {
	var req TokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.TTLDays < 0 || req.TTLDays > 730 {
		return apiErrorZH(http.StatusBadRequest, "bad_token_request", "有效期须为 1 至 730 天", "ttl_days must be 1 to 730")
	}
	secret, t, err := s.svc.CreateToken(c.Request().Context(), official(c), issuer.NewToken{Role: req.Role, Name: req.Name,
		Authority: req.Authority, TTL: time.Duration(req.TTLDays) * 24 * time.Hour}, s.cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, TokenResponse{Secret: secret, Token: t})
}

// listTokens lists the tokens the administrator manages.
func (s *Server) listTokens(c echo.Context) error {
	ts, err := s.svc.Tokens(c.Request().Context(), official(c))
	if err != nil {
		return err
	}
	out := make([]TokenResponse, len(ts))
	for i, t := range ts {
		out[i] = TokenResponse{Token: t}
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": out})
}

// revokeToken withdraws a token by its public id.
func (s *Server) revokeToken(c echo.Context) error {
	t, err := s.svc.RevokeToken(c.Request().Context(), official(c), c.Param("id"), s.cfg.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, TokenResponse{Token: t})
}

// backupDeadline bounds how long a client may take to read a backup.
const backupDeadline = 30 * time.Minute

// backup sends a snapshot of the whole store. The snapshot is taken into a
// temporary file first, so a client that stops reading holds up no writer;
// the send has a deadline.
func (s *Server) backup(c echo.Context) error {
	f, size, err := s.svc.Backup(c.Request().Context(), official(c), s.cfg.TempDir, s.cfg.Now())
	if err != nil {
		return err
	}
	defer f.Close()
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, "application/octet-stream")
	hd.Set("Content-Disposition", `attachment; filename="permitd-backup.snapshot"`)
	hd.Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
	_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Now().Add(backupDeadline))
	c.Response().WriteHeader(http.StatusOK)
	if n, err := io.Copy(c.Response(), f); err != nil {
		s.log.Warn("backup not sent whole", "request_id", requestID(c), "sent", n, "of", size, "err", err)
		// The length promised is not reached: the client sees a short copy.
		panic(http.ErrAbortHandler)
	}
	return nil
}
