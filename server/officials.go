package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/epermit/epermit/audit"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/store"
)

// OfferResponse is a credential offer for the resident's wallet.
type OfferResponse struct {
	// URI is the openid-credential-offer:// link with the pre-authorized code.
	URI     string    `json:"uri"`
	Expires time.Time `json:"expires"`
	// QRPNG is the offer URI as a QR code, a PNG in base64, for the wallet to scan at the counter.
	QRPNG []byte `json:"qr_png"`
}

// PermitResponse is a permit record as officials see it.
type PermitResponse struct {
	Number     string            `json:"number"`
	State      store.PermitState `json:"state"`
	Endorsed   permit.State      `json:"endorsement_state"`
	Name       string            `json:"name"`
	MaskedID   string            `json:"masked_id"`
	Region     string            `json:"residence_division"`
	ValidUntil permit.Date       `json:"valid_until"`
	Since      permit.Date       `json:"residence_since"`
	Issuer     string            `json:"issuer"`
	StatusList string            `json:"status_list"`
	StatusIdx  int               `json:"status_idx"`
	HolderKid  string            `json:"holder_kid,omitempty"`
	History    []store.Event     `json:"history"`
	Offer      *OfferResponse    `json:"offer,omitempty"`
}

func (s *Server) permitResponse(p store.Permit) PermitResponse {
	r := PermitResponse{Number: p.Permit.Number, State: p.State, Endorsed: p.Permit.State(s.today()),
		Name: p.Permit.Name, MaskedID: permit.MaskID(p.Permit.CitizenID), Region: string(p.Permit.ResidenceDivision),
		ValidUntil: p.Permit.ValidUntil, Since: p.Permit.ResidenceSince, StatusList: s.statusURI(p.List), StatusIdx: p.Idx, History: p.History}
	r.Issuer = s.issuerOf(p.Authority)
	if p.Holder != nil {
		if kid, err := p.Holder.Thumbprint(); err == nil {
			r.HolderKid = kid
		}
	}
	return r
}

// newOffer draws a pre-authorized code and renders its offer.
func (s *Server) newOffer(a *Authority) (code string, o OfferResponse, err error) {
	code, err = s.cfg.Store.NewGrant(store.CodePrefix)
	if err != nil {
		return "", o, err
	}
	uri := oid4vci.Offer{CredentialIssuer: s.issuerID(a), ConfigurationIDs: []string{ConfigurationID}, PreAuthorizedCode: code}.URI()
	qc, err := qr.Encode([]byte(uri), qr.M)
	if err != nil {
		return "", o, err
	}
	png, err := qc.PNG(4)
	if err != nil {
		return "", o, err
	}
	return code, OfferResponse{URI: uri, Expires: s.cfg.Now().Add(s.cfg.OfferTTL).UTC().Truncate(time.Second), QRPNG: png}, nil
}

// approve issues the permit of a pending application and offers its credential.
func (s *Server) approve(c echo.Context) error {
	if err := emptyBody(c); err != nil {
		return err
	}
	id := c.Param("id")
	app, err := s.cfg.Store.Application(id)
	if err != nil {
		return storeError(err, "application")
	}
	if err := covers(c, app.Authority); err != nil {
		return err
	}
	if app.State != store.AppPending || app.Form == nil {
		return apiError(http.StatusConflict, "not_pending", fmt.Sprintf("the application is %s, not pending", app.State))
	}
	a := s.bySlug[app.Authority]
	if a == nil {
		return apiError(http.StatusConflict, "no_authority", "the application's authority is no longer hosted here")
	}
	now := s.cfg.Now()
	today := permit.DateOf(now, permit.ChinaTime())
	if d := permit.Decide(*app.Form, today); !d.Eligible {
		return apiError(http.StatusConflict, "no_longer_eligible", "the applicant no longer meets: "+strings.Join(d.Codes(), ", "))
	}
	code, offer, err := s.newOffer(a)
	if err != nil {
		return err
	}
	for range 5 {
		no, err := permit.NewNumber(app.Form.ResidenceDivision, today.Year, s.cfg.Rand)
		if err != nil {
			return err
		}
		p, err := permit.NewPermit(*app.Form, no, s.issuerID(a), today)
		if err != nil {
			return apiError(http.StatusConflict, "not_issuable", clip(err.Error()))
		}
		rec, err := s.cfg.Store.Approve(id, p, code, offer.Expires, actor(c), now)
		if errors.Is(err, store.ErrNumberTaken) {
			continue
		}
		if err != nil {
			return storeError(err, "application")
		}
		resp := s.permitResponse(rec)
		resp.Offer = &offer
		return c.JSON(http.StatusCreated, resp)
	}
	return errors.New("approve: no free permit number after 5 draws")
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
	if len(req.Reasons) == 0 || len(req.Reasons) > 10 {
		return apiError(http.StatusBadRequest, "reason_required", "give one to ten reasons")
	}
	for _, r := range req.Reasons {
		if err := checkReason(r); err != nil {
			return err
		}
	}
	app, err := s.cfg.Store.Application(c.Param("id"))
	if err != nil {
		return storeError(err, "application")
	}
	if err := covers(c, app.Authority); err != nil {
		return err
	}
	a, err := s.cfg.Store.Reject(app.ID, req.Reasons, actor(c), s.cfg.Now())
	if err != nil {
		return storeError(err, "application")
	}
	return c.JSON(http.StatusOK, applicationResponse(a, s.issuerOf(a.Authority)))
}

func checkReason(r string) error {
	if strings.TrimSpace(r) == "" || len(r) > 512 || !utf8.ValidString(r) {
		return apiError(http.StatusBadRequest, "reason_required", "a reason must be 1 to 512 bytes of text")
	}
	return nil
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

// endorse records the yearly endorsement and offers the re-issued credential.
func (s *Server) endorse(c echo.Context) error {
	if err := emptyBody(c); err != nil {
		return err
	}
	rec, err := s.officialPermit(c)
	if err != nil {
		return err
	}
	a := s.bySlug[rec.Authority]
	if a == nil {
		return apiError(http.StatusConflict, "no_authority", "the permit's authority is no longer hosted here")
	}
	now := s.cfg.Now()
	p, err := rec.Permit.Endorse(permit.DateOf(now, permit.ChinaTime()))
	if errors.Is(err, permit.ErrEndorseTooEarly) {
		return apiError(http.StatusConflict, "endorsement_too_early", fmt.Sprintf("the endorsement window opens on %s", rec.Permit.WindowOpens()))
	}
	if err != nil {
		return err
	}
	code, offer, err := s.newOffer(a)
	if err != nil {
		return err
	}
	rec, err = s.cfg.Store.Endorse(p, rec.Permit, code, offer.Expires, actor(c), now)
	if err != nil {
		return storeError(err, "permit")
	}
	resp := s.permitResponse(rec)
	resp.Offer = &offer
	return c.JSON(http.StatusOK, resp)
}

// officialPermit reads the permit named in the path, if the official's
// token covers its authority.
func (s *Server) officialPermit(c echo.Context) (store.Permit, error) {
	rec, err := s.cfg.Store.Permit(c.Param("no"))
	if err != nil {
		return store.Permit{}, storeError(err, "permit")
	}
	if err := covers(c, rec.Authority); err != nil {
		return store.Permit{}, err
	}
	return rec, nil
}

// ReasonRequest is the body of a revocation, suspension or reinstatement.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

// setStatus revokes, suspends or reinstates a permit; its status list
// changes at once.
func (s *Server) setStatus(action store.Action) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req ReasonRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if err := checkReason(req.Reason); err != nil {
			return err
		}
		if _, err := s.officialPermit(c); err != nil {
			return err
		}
		rec, err := s.cfg.Store.SetStatus(c.Param("no"), action, req.Reason, actor(c), s.cfg.Now())
		if err != nil {
			return storeError(err, "permit")
		}
		s.metrics.status.WithLabelValues(rec.Authority, string(action)).Inc()
		return c.JSON(http.StatusOK, s.permitResponse(rec))
	}
}

// permit shows a permit record with its history.
func (s *Server) permit(c echo.Context) error {
	rec, err := s.officialPermit(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.permitResponse(rec))
}

// photo serves the applicant's photo for an officer to compare.
func (s *Server) photo(c echo.Context) error {
	rec, err := s.officialPermit(c)
	if err != nil {
		return err
	}
	photo, ct, err := s.cfg.Store.Photo(rec.Application)
	if err != nil {
		return storeError(err, "photo")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, ct, photo)
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
		return apiError(http.StatusBadRequest, "bad_query", "after must be a sequence number and limit 1 to 1000")
	}
	entries, err := s.cfg.Store.Audit(after, limit)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []audit.Entry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}

// TokenRequest is the body of POST /v1/admin/tokens.
type TokenRequest struct {
	Role store.Role `json:"role"`
	Name string     `json:"name"`
	// Authority limits the token to one issuing authority (its slug); ""
	// for all. A token limited to one authority makes tokens for it only.
	Authority string `json:"authority,omitempty"`
}

// createToken makes an official's token; the secret is in this answer only.
func (s *Server) createToken(c echo.Context) error {
	var req TokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if !req.Role.Valid() || strings.TrimSpace(req.Name) == "" || len(req.Name) > 64 {
		return apiError(http.StatusBadRequest, "bad_token_request", "give a role (officer, revoker, auditor or admin) and a name of 1 to 64 bytes")
	}
	if req.Authority != "" && s.bySlug[req.Authority] == nil {
		return apiError(http.StatusBadRequest, "bad_token_request", "no authority "+strconv.Quote(clip(req.Authority))+" is hosted here")
	}
	if by, _ := c.Get(officialKey).(store.APIToken); by.Authority != "" && req.Authority != by.Authority {
		return apiError(http.StatusForbidden, "other_authority", "this token acts for authority "+by.Authority+" and makes tokens for it only")
	}
	secret, t, err := s.cfg.Store.CreateToken(store.APIToken{Role: req.Role, Name: req.Name, Authority: req.Authority}, actor(c), s.cfg.Now())
	if err != nil {
		return storeError(err, "token")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, map[string]any{"token": secret, "id": t.ID, "role": t.Role, "name": t.Name, "authority": t.Authority})
}

// backup streams a consistent copy of the store, with its length, so that
// a copy cut short shows as one.
func (s *Server) backup(c echo.Context) error {
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, "application/octet-stream")
	hd.Set("Content-Disposition", `attachment; filename="permitd-backup.db"`)
	// A large store takes longer than the server's write timeout.
	_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Time{})
	if _, err := s.cfg.Store.Backup(c.Response(), func(n int64) {
		hd.Set(echo.HeaderContentLength, strconv.FormatInt(n, 10))
		c.Response().WriteHeader(http.StatusOK)
	}); err != nil {
		s.log.Error("backup failed", "request_id", requestID(c), "err", err)
		if !c.Response().Committed {
			return err
		}
		// The length promised is not reached: the client sees a short copy.
		panic(http.ErrAbortHandler)
	}
	return nil
}
