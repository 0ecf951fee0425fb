// Package credential defines the e-permit credential: an SD-JWT VC
// (draft-ietf-oauth-sd-jwt-vc) of type VCT, signed by an issuing authority
// with Ed25519, that carries one residence permit and binds it to the
// holder's device key (Ed25519 or ECDSA P-256).
//
// The profile is designed for QR codes: the claims every check needs (name,
// masked citizen ID, residence division, permit number) are always visible
// under short names; everything else sits in two selectively disclosable
// groups, so that a presentation carries at most two disclosures:
//
//   - GroupIdentity ("idn"): the full citizen ID number (which also gives
//     the birth date and sex), the GB/T 3304 ethnicity code and the photo
//     digest;
//   - GroupResidence ("res"): residence and household-registration
//     addresses, the household division, the residence-since date, the basis
//     of eligibility and the first issue date.
//
// docs/credential-format.md is the normative description.
package credential

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
)

// VCT is the verifiable credential type of a residence permit.
const VCT = "urn:epermit:rp:1"

// AnyAudience is the KB-JWT audience a wallet uses when the verifier gave no
// challenge: the presentation is then good for any verifier, and freshness
// and the replay cache stand in for the challenge.
const AnyAudience = "urn:epermit:any"

// Names of the selectively disclosable claim groups.
const (
	GroupIdentity  = "idn"
	GroupResidence = "res"
)

// Identity is the disclosable identity group.
type Identity struct {
	// CitizenID is the full 18-character GB 11643 citizen ID number.
	CitizenID string `json:"id"`
	// Ethnicity is the two-digit GB/T 3304 code.
	Ethnicity string `json:"eth"`
	// PhotoSHA256 is the base64url SHA-256 of the photo on record, if any.
	PhotoSHA256 string `json:"ph,omitempty"`
}

// Residence is the disclosable residence group.
type Residence struct {
	Address           string   `json:"ra"`
	HouseholdAddress  string   `json:"ha"`
	HouseholdDivision string   `json:"hd"`
	Since             string   `json:"rs"`  // YYYY-MM-DD
	Basis             []string `json:"bs"`  // employment, residence, study
	IssueDate         string   `json:"isd"` // YYYY-MM-DD, first issue
}

// Claims is the content of one permit credential.
type Claims struct {
	Issuer   string
	IssuedAt time.Time
	// Expires is the date the next yearly endorsement is due: after it the
	// permit is suspended until endorsed.
	Expires time.Time
	// NotBefore is the nbf claim, zero when there is none. e-permit's
	// issuers do not set it; a verifier honours it when present.
	NotBefore time.Time
	Status    statuslist.Reference
	// Holder is the device key the credential is bound to (cnf.jwk): an
	// ed25519.PublicKey or an *ecdsa.PublicKey on P-256.
	Holder crypto.PublicKey

	Name     string // always visible
	MaskedID string // always visible: first 6, eight '*', last 4
	Region   string // always visible: 6-digit GB/T 2260 residence division
	PermitNo string // always visible

	Identity  *Identity  // disclosable; nil when not disclosed
	Residence *Residence // disclosable; nil when not disclosed
}

// payload is the issuer-signed JWT payload. Field order is the wire order.
type payload struct {
	Iss    string                 `json:"iss"`
	Vct    string                 `json:"vct"`
	Iat    int64                  `json:"iat"`
	Nbf    int64                  `json:"nbf,omitempty"`
	Exp    int64                  `json:"exp"`
	Status statuslist.StatusClaim `json:"status"`
	Cnf    cnf                    `json:"cnf"`
	Name   string                 `json:"nm"`
	IDM    string                 `json:"idm"`
	Region string                 `json:"rg"`
	PNo    string                 `json:"pn"`
	SD     []string               `json:"_sd,omitempty"`
	SDAlg  string                 `json:"_sd_alg,omitempty"`
}

type cnf struct {
	JWK *keys.JWK `json:"jwk"`
}

// visible lists the payload's claim names, which no disclosure may reuse.
var visible = map[string]bool{
	"iss": true, "vct": true, "iat": true, "exp": true, "nbf": true, "status": true, "cnf": true,
	"nm": true, "idm": true, "rg": true, "pn": true, "_sd": true, "_sd_alg": true, "sub": true,
}

// Errors from Issue and Decode.
var (
	ErrMissingClaim = errors.New("required claim missing")
	ErrWrongType    = errors.New("not a residence permit credential")
	ErrHolderKey    = errors.New("invalid holder key")
)

// Issue signs c with the issuer key s, whose key ID is kid, and returns the
// SD-JWT with all disclosures: what the issuer hands to the wallet. Salts
// are read from r (crypto/rand.Reader).
func Issue(s crypto.Signer, kid string, c Claims, r io.Reader) (string, error) {
	if c.Issuer == "" || c.Name == "" || c.MaskedID == "" || c.Region == "" || c.PermitNo == "" || c.Status.URI == "" {
		return "", fmt.Errorf("credential: issue: %w: iss, name, masked ID, region, permit number and status are required", ErrMissingClaim)
	}
	// A key nobody holds (a small-order point) or that is not a point
	// would bind the permit to nothing: refused here as by verifiers.
	holder, err := keys.HolderJWK(c.Holder)
	if err != nil {
		return "", fmt.Errorf("credential: issue: %w: %w", ErrHolderKey, err)
	}
	if !c.Expires.After(c.IssuedAt) {
		return "", fmt.Errorf("credential: issue: expiry %v not after issuance %v", c.Expires, c.IssuedAt)
	}
	p := payload{
		Iss: c.Issuer, Vct: VCT, Iat: c.IssuedAt.Unix(), Exp: c.Expires.Unix(),
		Status: statuslist.StatusClaim{StatusList: &statuslist.Reference{Idx: c.Status.Idx, URI: c.Status.URI}},
		Cnf:    cnf{JWK: &keys.JWK{Kty: holder.Kty, Crv: holder.Crv, X: holder.X, Y: holder.Y}},
		Name:   c.Name, IDM: c.MaskedID, Region: c.Region, PNo: c.PermitNo,
	}
	if !c.NotBefore.IsZero() {
		p.Nbf = c.NotBefore.Unix()
	}
	var ds []sdjwt.Disclosure
	for _, g := range []struct {
		name  string
		value any
		ok    bool
	}{
		{GroupIdentity, c.Identity, c.Identity != nil},
		{GroupResidence, c.Residence, c.Residence != nil},
	} {
		if !g.ok {
			continue
		}
		d, err := sdjwt.NewDisclosure(r, g.name, g.value)
		if err != nil {
			return "", fmt.Errorf("credential: issue: %w", err)
		}
		ds = append(ds, d)
		p.SD = append(p.SD, sdjwt.Digest(d.Encoded))
	}
	slices.Sort(p.SD) // the order must not tell which digest is which group
	body, err := jws.Marshal(p)
	if err != nil {
		return "", err
	}
	tok, err := jws.Sign(s, jws.Header{Typ: sdjwt.TypeVC, Kid: kid}, body)
	if err != nil {
		return "", fmt.Errorf("credential: issue: %w", err)
	}
	pres := sdjwt.Presentation{IssuerJWT: tok}
	for _, d := range ds {
		pres.Disclosures = append(pres.Disclosures, d.Encoded)
	}
	return pres.WithoutKeyBinding(), nil
}

// Payload is the verified, strictly decoded issuer-signed part of a
// credential, before disclosures are applied.
type Payload struct {
	p      payload
	holder crypto.PublicKey
}

// ParsePayload decodes a payload whose signature has been verified. It
// refuses duplicate or case-variant claim names, a vct other than VCT,
// missing required claims, and a cnf.jwk that is not a usable holder key
// (ErrHolderKey, wrapping the keys error that says why: a small-order
// Ed25519 point, anyone's to sign with, is keys.ErrSmallOrderKey).
func ParsePayload(raw []byte) (*Payload, error) {
	var p payload
	if err := jws.DecodeStrict(raw, &p); err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	if p.Vct != VCT {
		return nil, fmt.Errorf("credential: %w: vct %q", ErrWrongType, p.Vct)
	}
	switch {
	case p.Iss == "":
		return nil, fmt.Errorf("credential: %w: iss", ErrMissingClaim)
	case p.Iat == 0:
		return nil, fmt.Errorf("credential: %w: iat", ErrMissingClaim)
	case p.Exp == 0:
		return nil, fmt.Errorf("credential: %w: exp", ErrMissingClaim)
	case p.Status.Validate() != nil:
		return nil, fmt.Errorf("credential: %w: %w", ErrMissingClaim, p.Status.Validate())
	case p.Name == "" || p.IDM == "" || p.Region == "" || p.PNo == "":
		return nil, fmt.Errorf("credential: %w: nm, idm, rg and pn are required", ErrMissingClaim)
	case p.Cnf.JWK == nil:
		return nil, fmt.Errorf("credential: %w: cnf.jwk", ErrMissingClaim)
	}
	holder, err := p.Cnf.JWK.HolderKey()
	if err != nil {
		return nil, fmt.Errorf("credential: %w: %w", ErrHolderKey, err)
	}
	return &Payload{p: p, holder: holder}, nil
}

// Issuer returns the iss claim.
func (p *Payload) Issuer() string { return p.p.Iss }

// Holder returns the holder's public key from cnf.jwk: an
// ed25519.PublicKey or an *ecdsa.PublicKey on P-256.
func (p *Payload) Holder() crypto.PublicKey { return p.holder }

// Disclose applies the presented disclosures and returns the claims they
// reveal together with the always-visible ones.
func (p *Payload) Disclose(disclosures []string) (*Claims, error) {
	c := &Claims{
		Issuer:   p.p.Iss,
		IssuedAt: time.Unix(p.p.Iat, 0),
		Expires:  time.Unix(p.p.Exp, 0),
		Status:   *p.p.Status.StatusList,
		Holder:   p.holder,
		Name:     p.p.Name,
		MaskedID: p.p.IDM,
		Region:   p.p.Region,
		PermitNo: p.p.PNo,
	}
	if p.p.Nbf != 0 {
		c.NotBefore = time.Unix(p.p.Nbf, 0)
	}
	if len(disclosures) == 0 {
		if p.p.SDAlg != "" && p.p.SDAlg != sdjwt.SHA256 {
			return nil, fmt.Errorf("credential: %w: %q", sdjwt.ErrHashAlgorithm, p.p.SDAlg)
		}
		return c, nil
	}
	claims, err := sdjwt.Resolve(p.p.SD, p.p.SDAlg, disclosures)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	for name, v := range claims {
		if visible[name] {
			return nil, fmt.Errorf("credential: %w: %q", sdjwt.ErrClaimCollision, name)
		}
		switch name {
		case GroupIdentity:
			c.Identity = new(Identity)
			if err := redecode(v, c.Identity); err != nil {
				return nil, fmt.Errorf("credential: %s: %w", name, err)
			}
		case GroupResidence:
			c.Residence = new(Residence)
			if err := redecode(v, c.Residence); err != nil {
				return nil, fmt.Errorf("credential: %s: %w", name, err)
			}
		}
		// Other names are not part of this profile and are ignored.
	}
	return c, nil
}

// Disclosed reports which groups c discloses, in a stable order.
func (c *Claims) Disclosed() []string {
	var out []string
	if c.Identity != nil {
		out = append(out, GroupIdentity)
	}
	if c.Residence != nil {
		out = append(out, GroupResidence)
	}
	return out
}

// redecode converts a disclosed JSON value into the group's struct.
func redecode(v any, dst any) error {
	if _, ok := v.(map[string]any); !ok {
		return fmt.Errorf("%w: group is not an object", sdjwt.ErrDisclosure)
	}
	b, err := jws.Marshal(v)
	if err != nil {
		return err
	}
	return jws.DecodeStrict(b, dst)
}

// GroupOf returns the group a top-level disclosure encodes, or "" if it is
// not a well-formed disclosure of this profile. Wallets use it to choose
// disclosures for a purpose.
func GroupOf(encoded string) string {
	d, err := sdjwt.ParseDisclosure(encoded)
	if err != nil {
		return ""
	}
	switch d.Name {
	case GroupIdentity, GroupResidence:
		return d.Name
	}
	return ""
}
