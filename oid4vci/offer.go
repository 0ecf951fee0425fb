package oid4vci

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/epermit/epermit/internal/jws"
)

// Protocol constants.
const (
	// GrantPreAuthorized is the grant type of the pre-authorized code flow.
	GrantPreAuthorized = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
	// ProofType is the typ header of a jwt key proof.
	ProofType = "openid4vci-proof+jwt"
	// OfferScheme starts an offer URI meant for a wallet app.
	OfferScheme = "openid-credential-offer://"
	// Format is the credential format identifier of SD-JWT VCs.
	Format = "dc+sd-jwt"
	// FormatDraft is what OpenID4VCI drafts up to 14 (and SD-JWT VC up to
	// draft 5) called Format; draft-13 requests still use it.
	FormatDraft = "vc+sd-jwt"
)

// MaxOfferURI is the longest offer URI ParseOfferURI accepts, in bytes.
const MaxOfferURI = 8 << 10

// Offer errors. ParseOfferURI and ParseOffer return errors wrapping
// ErrInvalidOffer; an offer by reference also wraps ErrOfferByReference.
var (
	ErrInvalidOffer     = errors.New("invalid credential offer")
	ErrOfferByReference = errors.New("credential_offer_uri (offer by reference) is not supported")
)

// Offer is a credential offer for the pre-authorized code flow.
type Offer struct {
	// CredentialIssuer is the issuer identifier, an https (or, for
	// development, http) URL without query or fragment.
	CredentialIssuer string
	// ConfigurationIDs name entries of the issuer's
	// credential_configurations_supported; at least one, no repeats.
	ConfigurationIDs []string
	// PreAuthorizedCode is the short-lived, single-use code the wallet
	// exchanges at the token endpoint.
	PreAuthorizedCode string
	// TxCode, when not nil, tells the wallet that a transaction code (sent
	// to the holder by another channel) must accompany the token request.
	TxCode *TxCode
}

// TxCode describes the transaction code a token request must carry.
type TxCode struct {
	InputMode   string `json:"input_mode,omitempty"` // "numeric" (default) or "text"
	Length      int    `json:"length,omitempty"`
	Description string `json:"description,omitempty"` // at most 300 characters
}

type offerWire struct {
	CredentialIssuer string                     `json:"credential_issuer"`
	ConfigurationIDs []string                   `json:"credential_configuration_ids"`
	Grants           map[string]json.RawMessage `json:"grants"`
}

type preAuthGrant struct {
	PreAuthorizedCode   string  `json:"pre-authorized_code"`
	TxCode              *TxCode `json:"tx_code,omitempty"`
	AuthorizationServer string  `json:"authorization_server,omitempty"`
}

// MarshalJSON encodes the credential offer object of OpenID4VCI section 4.1.1.
func (o Offer) MarshalJSON() ([]byte, error) {
	g, err := jws.Marshal(preAuthGrant{PreAuthorizedCode: o.PreAuthorizedCode, TxCode: o.TxCode})
	if err != nil {
		return nil, err
	}
	return jws.Marshal(offerWire{
		CredentialIssuer: o.CredentialIssuer,
		ConfigurationIDs: o.ConfigurationIDs,
		Grants:           map[string]json.RawMessage{GrantPreAuthorized: g},
	})
}

// URI returns the offer by value as openid-credential-offer://?credential_offer=...
// with the offer JSON percent-encoded.
func (o Offer) URI() string {
	b, err := o.MarshalJSON()
	if err != nil { // cannot happen: the offer holds only strings and ints
		return ""
	}
	return OfferScheme + "?credential_offer=" + url.QueryEscape(string(b))
}

// ParseOfferURI reads an offer by value from a URI of any scheme whose
// query holds credential_offer, such as the result of Offer.URI or
// https://wallet.example/offer?credential_offer=... It refuses input longer
// than MaxOfferURI, an offer by reference (credential_offer_uri), and every
// offer ParseOffer refuses.
func ParseOfferURI(s string) (Offer, error) {
	if len(s) > MaxOfferURI {
		return Offer{}, fmt.Errorf("oid4vci: %w: %d bytes, at most %d", ErrInvalidOffer, len(s), MaxOfferURI)
	}
	u, err := url.Parse(s)
	if err != nil {
		return Offer{}, fmt.Errorf("oid4vci: %w: %v", ErrInvalidOffer, err)
	}
	if u.Scheme == "" {
		return Offer{}, fmt.Errorf("oid4vci: %w: %q is not an absolute URI", ErrInvalidOffer, clip(s))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Offer{}, fmt.Errorf("oid4vci: %w: query: %v", ErrInvalidOffer, err)
	}
	if _, ok := q["credential_offer_uri"]; ok {
		return Offer{}, fmt.Errorf("oid4vci: %w: %w", ErrInvalidOffer, ErrOfferByReference)
	}
	v, ok := q["credential_offer"]
	switch {
	case !ok:
		return Offer{}, fmt.Errorf("oid4vci: %w: no credential_offer parameter", ErrInvalidOffer)
	case len(v) != 1:
		return Offer{}, fmt.Errorf("oid4vci: %w: credential_offer given %d times", ErrInvalidOffer, len(v))
	}
	return ParseOffer([]byte(v[0]))
}

// ParseOffer decodes a credential offer object strictly and checks it: an
// http(s) issuer URL with a host and without query or fragment, a non-empty
// list of distinct non-empty configuration ids, and a pre-authorized code
// grant with a non-empty code. Other grants (authorization_code) are
// ignored when the pre-authorized grant is present and refused otherwise.
func ParseOffer(data []byte) (Offer, error) {
	var w offerWire
	if err := jws.DecodeStrict(data, &w); err != nil {
		return Offer{}, fmt.Errorf("oid4vci: %w: %w", ErrInvalidOffer, err)
	}
	if err := checkIssuerURL(w.CredentialIssuer); err != nil {
		return Offer{}, fmt.Errorf("oid4vci: %w: credential_issuer: %w", ErrInvalidOffer, err)
	}
	if len(w.ConfigurationIDs) == 0 {
		return Offer{}, fmt.Errorf("oid4vci: %w: credential_configuration_ids is empty", ErrInvalidOffer)
	}
	seen := make(map[string]bool, len(w.ConfigurationIDs))
	for _, id := range w.ConfigurationIDs {
		if id == "" || seen[id] {
			return Offer{}, fmt.Errorf("oid4vci: %w: credential configuration id %q empty or repeated", ErrInvalidOffer, clip(id))
		}
		seen[id] = true
	}
	raw, ok := w.Grants[GrantPreAuthorized]
	if !ok {
		return Offer{}, fmt.Errorf("oid4vci: %w: no pre-authorized code grant (only the pre-authorized code flow is supported)", ErrInvalidOffer)
	}
	var g preAuthGrant
	if err := jws.DecodeStrict(raw, &g); err != nil {
		return Offer{}, fmt.Errorf("oid4vci: %w: pre-authorized grant: %w", ErrInvalidOffer, err)
	}
	if g.PreAuthorizedCode == "" {
		return Offer{}, fmt.Errorf("oid4vci: %w: pre-authorized_code is missing", ErrInvalidOffer)
	}
	if g.TxCode != nil {
		if m := g.TxCode.InputMode; m != "" && m != "numeric" && m != "text" {
			return Offer{}, fmt.Errorf("oid4vci: %w: tx_code input_mode %q", ErrInvalidOffer, clip(m))
		}
		if g.TxCode.Length < 0 || len([]rune(g.TxCode.Description)) > 300 {
			return Offer{}, fmt.Errorf("oid4vci: %w: tx_code length or description out of range", ErrInvalidOffer)
		}
	}
	return Offer{
		CredentialIssuer:  w.CredentialIssuer,
		ConfigurationIDs:  w.ConfigurationIDs,
		PreAuthorizedCode: g.PreAuthorizedCode,
		TxCode:            g.TxCode,
	}, nil
}

// checkIssuerURL accepts an absolute http or https URL with a host, no
// user information, query or fragment.
func checkIssuerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", clip(s))
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q is not an https URL", clip(s))
	case u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q has no host", clip(s))
	case u.User != nil:
		return fmt.Errorf("%q has user information", clip(s))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("%q has a query or fragment", clip(s))
	}
	return nil
}
