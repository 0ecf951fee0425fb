package browser

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/verifier"
)

// maxToken bounds a trust list or status list token taken from a page.
// Status lists of a few million entries compress to a few hundred
// kilobytes; anything over 8 MiB is refused before it is parsed.
const maxToken = 8 << 20

// Session is the trust data one page works with: the trust list it loaded
// and the status lists added since. The zero Session holds nothing; it is
// safe for concurrent use.
type Session struct {
	mu    sync.Mutex
	trust *verifier.Trust // nil until LoadTrust succeeds
}

// NewSession returns a Session without trust data.
func NewSession() *Session { return &Session{} }

// IssuerInfo describes one issuing authority of a trust list.
type IssuerInfo struct {
	ID          string   `json:"iss"`
	NameZH      string   `json:"nameZH"`
	NameEN      string   `json:"nameEN"`
	Region      string   `json:"region"`
	StatusLists []string `json:"statusLists"`
}

// TrustInfo is the result of CheckTrust and LoadTrust: the trust list's
// version, dates (ms) and issuers when OK.
type TrustInfo struct {
	Outcome
	Version   int64        `json:"version"`
	IssuedAt  int64        `json:"issuedAt"`
	ExpiresAt int64        `json:"expiresAt"`
	Issuers   []IssuerInfo `json:"issuers"`
}

// CheckTrust verifies a trust list JWT against the pinned root key
// thumbprint and refuses one older than heldVersion (0 when none is held)
// with CodeRollback. When the Session has loaded a list of heldVersion, a
// list of the same version with other content is refused too. It does not
// change the loaded trust.
func (s *Session) CheckTrust(token, pin string, heldVersion int64) TrustInfo {
	l, out := verifyList(token, pin)
	if !out.OK {
		return TrustInfo{Outcome: out}
	}
	if heldVersion < 0 {
		return TrustInfo{Outcome: Fail(CodeBadInput, fmt.Errorf("browser: held version %d is negative", heldVersion))}
	}
	if heldVersion > 0 {
		// Without the held list, only the version can be compared.
		held := &trust.List{Version: heldVersion, IssuedAt: l.IssuedAt}
		if cur := s.list(); cur != nil && cur.Version == heldVersion {
			held = cur
		}
		if err := trust.Replace(held, l); err != nil {
			return TrustInfo{Outcome: Fail(CodeRollback, fmt.Errorf("browser: %w", err))}
		}
	}
	return trustInfo(l)
}

// LoadTrust verifies a trust list JWT as CheckTrust does and makes it the
// trust data Verify uses, replacing what was loaded and dropping the status
// lists added before. It refuses a list that could not replace the one
// loaded (an older version) with CodeRollback, keeping the loaded one.
// fetchedMs is when the page obtained the list.
func (s *Session) LoadTrust(token, pin string, fetchedMs int64) TrustInfo {
	l, out := verifyList(token, pin)
	if !out.OK {
		return TrustInfo{Outcome: out}
	}
	st, err := trust.NewStore(l)
	if err != nil {
		return TrustInfo{Outcome: Fail(CodeInvalid, fmt.Errorf("browser: %w", err))}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trust != nil {
		if err := trust.Replace(s.trust.Store().List(), l); err != nil {
			return TrustInfo{Outcome: Fail(CodeRollback, fmt.Errorf("browser: %w", err))}
		}
	}
	s.trust = verifier.NewTrust(st, timeOf(fetchedMs))
	return trustInfo(l)
}

// list returns the loaded trust list, or nil.
func (s *Session) list() *trust.List {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trust == nil {
		return nil
	}
	return s.trust.Store().List()
}

// verifyList checks the arguments and the trust list's signature.
func verifyList(token, pin string) (*trust.List, Outcome) {
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return nil, Fail(CodeBadInput, errors.New("browser: empty trust list"))
	case len(token) > maxToken:
		return nil, Fail(CodeBadInput, fmt.Errorf("browser: trust list of %d bytes, at most %d", len(token), maxToken))
	case pin == "":
		return nil, Fail(CodeBadInput, errors.New("browser: empty root key pin"))
	}
	l, err := trust.Verify(token, pin)
	switch {
	case err == nil:
		return l, ok
	case errors.Is(err, trust.ErrRootMismatch):
		return nil, Fail(CodeRootMismatch, fmt.Errorf("browser: %w", err))
	case errors.Is(err, jws.ErrSignature):
		return nil, Fail(CodeBadSignature, fmt.Errorf("browser: %w", err))
	}
	return nil, Fail(CodeInvalid, fmt.Errorf("browser: %w", err))
}

func trustInfo(l *trust.List) TrustInfo {
	info := TrustInfo{Outcome: ok, Version: l.Version, IssuedAt: msOf(l.IssuedAt), ExpiresAt: msOf(l.ExpiresAt), Issuers: []IssuerInfo{}}
	for _, is := range l.Issuers {
		sl := is.StatusLists
		if sl == nil {
			sl = []string{}
		}
		info.Issuers = append(info.Issuers, IssuerInfo{ID: is.ID, NameZH: is.Name.ZH, NameEN: is.Name.EN, Region: is.Region, StatusLists: sl})
	}
	return info
}

// StatusListInfo is the result of AddStatusList: the list's URI and dates
// (ms; ExpiresAt 0 when the token has no exp) when OK.
type StatusListInfo struct {
	Outcome
	URI       string `json:"uri"`
	IssuedAt  int64  `json:"issuedAt"`
	ExpiresAt int64  `json:"expiresAt"`
}

// AddStatusList verifies a Status List Token with the keys of the issuer
// that signed it, which must name the list's URI in the loaded trust list,
// and keeps it for Verify (replacing an earlier copy of the same list).
// fetchedMs is when the page obtained it. Its dates are judged by Verify,
// not here.
func (s *Session) AddStatusList(token string, fetchedMs int64) StatusListInfo {
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return StatusListInfo{Outcome: Fail(CodeBadInput, errors.New("browser: empty status list token"))}
	case len(token) > maxToken:
		return StatusListInfo{Outcome: Fail(CodeBadInput, fmt.Errorf("browser: status list token of %d bytes, at most %d", len(token), maxToken))}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trust == nil {
		return StatusListInfo{Outcome: Fail(CodeNoTrust, errors.New("browser: load a trust list before its status lists"))}
	}
	if err := s.trust.AddStatusList(token, timeOf(fetchedMs)); err != nil {
		code := CodeInvalid
		switch {
		case errors.Is(err, jws.ErrUnknownKey):
			code = CodeUnknownKey
		case errors.Is(err, jws.ErrSignature):
			code = CodeBadSignature
		}
		return StatusListInfo{Outcome: Fail(code, fmt.Errorf("browser: %w", err))}
	}
	// The token verified; its sub names the entry just stored.
	vt, _, found := s.trust.StatusList(subOf(token))
	if !found {
		return StatusListInfo{Outcome: Fail(CodeInternal, errors.New("browser: status list stored under another uri"))}
	}
	return StatusListInfo{Outcome: ok, URI: vt.Sub, IssuedAt: msOf(vt.IssuedAt), ExpiresAt: msOf(vt.ExpiresAt)}
}

// subOf returns the sub claim of a JWT whose signature has been verified,
// or "".
func subOf(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	return c.Sub
}

// Reason is one refusal or warning of a verification, in Chinese and
// English, with its stable code from package verifier.
type Reason struct {
	Code   string `json:"code"`
	ZH     string `json:"zh"`
	EN     string `json:"en"`
	Detail string `json:"detail"`
}

// VerifyResult is the verifier's result as the pages read it. Claims are
// nil when the issuer signature did not verify; otherwise they hold the
// readable names of verifier.Result.ClaimsMap, with issued_at and expires
// in ms and disclosed listing the claim groups shown. Status is "valid",
// "revoked", "suspended" or "" when it could not be checked.
type VerifyResult struct {
	Valid       bool            `json:"valid"`
	Purpose     string          `json:"purpose"`
	Reasons     []Reason        `json:"reasons"`
	Warnings    []Reason        `json:"warnings"`
	Claims      map[string]any  `json:"claims"`
	Issuer      verifier.Issuer `json:"issuer"`
	HolderBound bool            `json:"holder_bound"`
	Fresh       bool            `json:"fresh"`
	Status      string          `json:"status"`
	TrustAgeSec int64           `json:"trust_age_s"`
	StatusAge   int64           `json:"status_age_s"`
}

// Verify checks a scanned presentation against the loaded trust data for
// purpose ("" for trust.DefaultPurpose) at nowMs, with verifier.Verify.
// text may be raw or packed ("ep1:", "ep2:" or "ep3:", see qr.NormalizeScanned);
// surrounding white space is trimmed. Without trust data the result is
// refused with trust_missing. The result's reasons say everything that
// is wrong; it never fails otherwise.
func (s *Session) Verify(text, purpose string, nowMs int64) *VerifyResult {
	in, normErr := text, error(nil)
	if len(text) <= 2*verifier.MaxInput+16 { // longer is refused as too large below
		in, normErr = qr.NormalizeScanned(text)
		if normErr != nil {
			in = text
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := verifier.Verify(in, verifier.Options{Trust: s.trust, Purpose: purpose, Now: timeOf(nowMs)})
	out := resultOf(r)
	if normErr != nil {
		for i := range out.Reasons {
			if out.Reasons[i].Code == string(verifier.CodeMalformed) {
				out.Reasons[i].Detail = normErr.Error()
			}
		}
	}
	return out
}

func resultOf(r *verifier.Result) *VerifyResult {
	out := &VerifyResult{
		Valid: r.Valid, Purpose: r.Purpose, Reasons: reasons(r.Reasons), Warnings: reasons(r.Warnings),
		Issuer: r.Issuer, HolderBound: r.HolderBound, Fresh: r.Fresh, Status: r.Status,
		TrustAgeSec: int64(r.TrustAge / time.Second), StatusAge: int64(r.StatusAge / time.Second),
	}
	if out.Status == "unknown" {
		out.Status = ""
	}
	if m := r.ClaimsMap(); m != nil {
		// Dates as ms for the page to show in its own words.
		delete(m, "valid_until")
		m["issued_at"] = msOf(r.Claims.IssuedAt)
		m["expires"] = msOf(r.Claims.Expires)
		d := r.Claims.Disclosed()
		if d == nil {
			d = []string{}
		}
		m["disclosed"] = d
		out.Claims = m
	}
	return out
}

func reasons(rs []verifier.Reason) []Reason {
	out := make([]Reason, 0, len(rs))
	for _, r := range rs {
		out = append(out, Reason{Code: string(r.Code), ZH: r.MessageZH, EN: r.Message, Detail: r.Detail})
	}
	return out
}

// Fields names what a presentation discloses, in Chinese and English.
type Fields struct {
	ZH []string `json:"zh"`
	EN []string `json:"en"`
}

// PurposeInfo describes one purpose of the policy for a purpose menu.
// Refusal is nil for a purpose that is allowed.
type PurposeInfo struct {
	ID            string      `json:"id"`
	Allowed       bool        `json:"allowed"`
	HolderBinding bool        `json:"holderBinding"`
	Required      []string    `json:"required"`
	Refusal       *trust.Text `json:"refusal"`
	Title         trust.Text  `json:"title"`
	Fields        Fields      `json:"fields"`
}

// alwaysShown are the claims every presentation shows.
var alwaysShown = Fields{
	ZH: []string{"姓名", "公民身份号码（部分隐藏）", "居住地", "居住证编号"},
	EN: []string{"name", "masked citizen ID", "residence region", "permit number"},
}

// groupFields are the fields each claim group of package credential holds.
var groupFields = map[string]Fields{
	credential.GroupIdentity: {
		ZH: []string{"公民身份号码", "民族", "照片摘要"},
		EN: []string{"citizen ID number", "ethnicity", "photo digest"},
	},
	credential.GroupResidence: {
		ZH: []string{"居住地址", "户籍地址", "户籍地区划", "居住起始日期", "申领依据", "首次签发日期"},
		EN: []string{"residence address", "household address", "household division", "residence since", "basis", "first issue date"},
	},
}

// Purposes lists the purposes of the loaded trust list's policy, or of
// trust.DefaultPolicy before one is loaded, in policy order, with the
// fields a presentation for each discloses: the always-visible claims and
// those of the groups it requires.
func (s *Session) Purposes() []PurposeInfo {
	var policy trust.Policy
	if l := s.list(); l != nil {
		policy = l.Policy
	} else {
		policy = trust.DefaultPolicy()
	}
	out := make([]PurposeInfo, 0, len(policy.Purposes))
	for _, p := range policy.Purposes {
		info := PurposeInfo{
			ID: p.ID, Allowed: p.Allowed, HolderBinding: p.HolderBinding,
			Required: append([]string{}, p.Required...), Title: p.Title,
			Fields: Fields{ZH: append([]string{}, alwaysShown.ZH...), EN: append([]string{}, alwaysShown.EN...)},
		}
		if p.Refusal != (trust.Text{}) {
			r := p.Refusal
			info.Refusal = &r
		}
		for _, g := range p.Required {
			f, known := groupFields[g]
			if !known {
				f = Fields{ZH: []string{"字段组“" + g + "”"}, EN: []string{fmt.Sprintf("claim group %q", g)}}
			}
			info.Fields.ZH = append(info.Fields.ZH, f.ZH...)
			info.Fields.EN = append(info.Fields.EN, f.EN...)
		}
		out = append(out, info)
	}
	return out
}
