//go:build !js

// The browser wallet (cmd/epermit-wasm and web/static/wallet) speaks
// OpenID4VCI with fetch in JavaScript: this HTTP client stays out of the
// WebAssembly module.

package wallet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/trust"
)

// maxResponse caps what the wallet reads from an issuer.
const maxResponse = 1 << 20

// ErrIssuerMetadata reports an issuer whose published metadata is missing,
// malformed or names another issuer.
var ErrIssuerMetadata = errors.New("issuer metadata")

// AcceptOption says which issuers Accept takes offers from: give it
// TrustedIssuers, or AnyIssuer for testing.
type AcceptOption func(*acceptConfig)

type acceptConfig struct {
	list *trust.List
	any  bool
}

// TrustedIssuers makes Accept take offers only from the issuers list names
// (a trust list verified against its pinned root, such as the one
// "permit wallet trust" keeps in the wallet directory), and check the
// credential's signature with the keys the list gives that issuer rather
// than keys the issuer publishes itself. An offer from any other issuer is
// refused with ErrUntrustedIssuer before the wallet contacts it, as is
// every offer when the list is not valid now (before its nbf, or past its
// exp and the grace period of its policy).
func TrustedIssuers(list *trust.List) AcceptOption {
	return func(c *acceptConfig) { c.list = list }
}

// AnyIssuer makes Accept take an offer from any issuer, checking the
// credential against the keys the issuer publishes: for tests and for
// setting up a service, never for residents. A phishing link then puts a
// credential of the attacker's issuer in the wallet (though never in the
// place of one from another issuer: see Add). TrustedIssuers, when also
// given, takes precedence.
func AnyIssuer() AcceptOption {
	return func(c *acceptConfig) { c.any = true }
}

// Accept receives a credential through an OpenID4VCI credential offer with
// a pre-authorized code (the link or QR code an official hands over): it
// checks that the offer comes from a trusted issuer, reads the issuer's
// metadata, redeems the code, proves possession of the device key over the
// issuer's nonce, and stores the credential after checking it with Add
// against the issuer's keys: those of the trust list (TrustedIssuers), or
// those the issuer publishes (AnyIssuer). Without either option it refuses
// with ErrNoTrustList. An untrusted issuer (ErrUntrustedIssuer), a used or
// expired code, a credential bound to another key (ErrNotMyKey), one whose
// signature does not verify (ErrIssuerSignature) and one whose permit
// number the wallet holds from another issuer (ErrIssuerConflict) are
// refused, and nothing is stored.
func (w *Wallet) Accept(ctx context.Context, offer string, client *http.Client, now time.Time, opts ...AcceptOption) (Entry, error) {
	var cfg acceptConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	o, err := oid4vci.ParseOfferURI(offer)
	if err != nil {
		return Entry{}, fmt.Errorf("wallet: accept: %w", err)
	}
	var trusted *keys.JWKS
	switch {
	case cfg.list != nil:
		if trusted, err = IssuerKeys(cfg.list, o.CredentialIssuer, now); err != nil {
			return Entry{}, fmt.Errorf("wallet: accept: %w", err)
		}
	case !cfg.any:
		return Entry{}, fmt.Errorf("wallet: accept: %w: cannot tell a genuine issuer from a phishing one", ErrNoTrustList)
	}
	if client == nil {
		client = http.DefaultClient
	}
	h := &issuerClient{ctx: ctx, c: client}
	var meta oid4vci.IssuerMetadata
	if err := h.getJSON(oid4vci.WellKnownURL(o.CredentialIssuer, oid4vci.WellKnownIssuer), &meta); err != nil {
		return Entry{}, fmt.Errorf("wallet: accept: %w: %w", ErrIssuerMetadata, err)
	}
	var as oid4vci.AuthServerMetadata
	if err := h.getJSON(oid4vci.WellKnownURL(o.CredentialIssuer, oid4vci.WellKnownAuthServer), &as); err != nil {
		return Entry{}, fmt.Errorf("wallet: accept: %w: %w", ErrIssuerMetadata, err)
	}
	if trusted == nil {
		// No trust list: the keys are what the issuer publishes.
		var vc struct {
			Issuer string    `json:"issuer"`
			JWKS   keys.JWKS `json:"jwks"`
		}
		if err := h.getJSON(oid4vci.WellKnownURL(o.CredentialIssuer, "jwt-vc-issuer"), &vc); err != nil {
			return Entry{}, fmt.Errorf("wallet: accept: %w: %w", ErrIssuerMetadata, err)
		}
		if vc.Issuer != o.CredentialIssuer {
			return Entry{}, fmt.Errorf("wallet: accept: %w: published for another issuer than %q", ErrIssuerMetadata, o.CredentialIssuer)
		}
		trusted = &vc.JWKS
	}
	if meta.CredentialIssuer != o.CredentialIssuer || as.Issuer != o.CredentialIssuer ||
		meta.CredentialEndpoint == "" || as.TokenEndpoint == "" {
		return Entry{}, fmt.Errorf("wallet: accept: %w: published for another issuer than %q", ErrIssuerMetadata, o.CredentialIssuer)
	}

	form := oid4vci.TokenRequest{GrantType: oid4vci.GrantPreAuthorized, PreAuthorizedCode: o.PreAuthorizedCode}.Form()
	body, err := h.post(as.TokenEndpoint, "", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return Entry{}, fmt.Errorf("wallet: accept: token: %w", err)
	}
	tr, err := oid4vci.ParseTokenResponse(body)
	if err != nil {
		return Entry{}, fmt.Errorf("wallet: accept: token: %w", err)
	}
	// OpenID4VCI 1.0 section 7: an issuer that publishes a nonce endpoint
	// wants the proof over a nonce from there; the token response's c_nonce
	// serves issuers of earlier drafts.
	nonce := tr.CNonce
	if meta.NonceEndpoint != "" {
		body, err := h.post(meta.NonceEndpoint, "", "", nil)
		if err != nil {
			return Entry{}, fmt.Errorf("wallet: accept: nonce: %w", err)
		}
		nr, err := oid4vci.ParseNonceResponse(body)
		if err != nil {
			return Entry{}, fmt.Errorf("wallet: accept: nonce: %w", err)
		}
		nonce = nr.CNonce
	}
	proof, err := oid4vci.NewProof(w.key, o.CredentialIssuer, nonce, now)
	if err != nil {
		return Entry{}, fmt.Errorf("wallet: accept: %w", err)
	}
	id := ""
	if len(o.ConfigurationIDs) > 0 {
		id = o.ConfigurationIDs[0]
	}
	req, err := oid4vci.CredentialRequest{ConfigurationID: id, Proofs: []string{proof}}.MarshalJSON()
	if err != nil {
		return Entry{}, err
	}
	body, err = h.post(meta.CredentialEndpoint, tr.AccessToken, "application/json", req)
	if err != nil {
		return Entry{}, fmt.Errorf("wallet: accept: credential: %w", err)
	}
	cr, err := oid4vci.ParseCredentialResponse(body)
	if err != nil {
		return Entry{}, fmt.Errorf("wallet: accept: credential: %w", err)
	}
	if len(cr.Credentials) != 1 {
		return Entry{}, fmt.Errorf("wallet: accept: %d credentials in the answer, want 1", len(cr.Credentials))
	}
	return w.add(cr.Credentials[0].Credential, trusted, o.CredentialIssuer)
}

// issuerClient makes the wallet's requests to an issuer.
type issuerClient struct {
	ctx context.Context
	c   *http.Client
}

func (h *issuerClient) getJSON(u string, v any) error {
	body, err := h.do(http.MethodGet, u, "", "", nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	return nil
}

func (h *issuerClient) post(u, token, ctype string, body []byte) ([]byte, error) {
	return h.do(http.MethodPost, u, token, ctype, body)
}

func (h *issuerClient) do(method, u, token, ctype string, body []byte) ([]byte, error) {
	if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL", u)
	}
	r, err := http.NewRequestWithContext(h.ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.c.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxResponse {
		return nil, fmt.Errorf("%s: answer larger than %d bytes", u, maxResponse)
	}
	if resp.StatusCode/100 != 2 {
		var oe oid4vci.Error
		if json.Unmarshal(data, &oe) == nil && oe.Code != "" {
			return nil, &oe
		}
		return nil, fmt.Errorf("%s: %s: %q", u, resp.Status, data[:min(len(data), 200)])
	}
	return data, nil
}
