//go:build !js

package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/trust"
)

// RefreshPath is where an e-permit issuer service takes refreshes: below
// its credential endpoint (POST /credential/refresh, docs/openapi.yaml).
// OpenID4VCI has no refresh of its own; an issuer that publishes no
// credential endpoint has none.
const RefreshPath = "/refresh"

// Refreshed says what Refresh did.
type Refreshed struct {
	// Entry is the credential held after the refresh: the new one when
	// New is set, else the one held before.
	Entry Entry
	// New reports that the issuer gave a newer credential, which now
	// replaces the one held; false means the one held is up to date.
	New bool
}

// Refresh asks the issuer of the credential held for permitNo ("" for the
// only one) for the permit's current credential, as a wallet does after an
// endorsement instead of a visit to the counter: it takes a c_nonce from
// the issuer's nonce endpoint, proves possession of the device key over it
// (the proof dated by the issuer's clock), and posts the permit number and
// the proof to the issuer's refresh endpoint (RefreshPath below its
// credential endpoint). A newer credential is checked against the keys the
// trust list gives the issuer (which must be valid at now) and replaces
// the one held in place, same issuer and number; an issuer with nothing
// newer answers CodeUpToDate, which is not an error.
//
// A credential the wallet knows to be revoked (CheckStatus) is not asked
// for: a *StatusError. A refusal of the issuer is an *IssuerError:
// invalid_proof when the
// permit's current credential is bound to another key (it was re-issued to
// another phone), permit_suspended or permit_revoked for a permit not in
// force. Explain gives the words to show.
func (w *Wallet) Refresh(ctx context.Context, permitNo string, client *http.Client, list *trust.List, now time.Time) (Refreshed, error) {
	e, _, err := w.Get(permitNo)
	if err != nil {
		return Refreshed{}, err
	}
	if st := w.heldStatusOf(e); st.List == StatusRevoked {
		return Refreshed{}, &StatusError{PermitNo: e.PermitNo, Status: st.List, Checked: st.Checked}
	}
	if list == nil {
		return Refreshed{}, fmt.Errorf("wallet: refresh: %w", ErrNoTrustList)
	}
	trusted, err := IssuerKeys(list, e.Issuer, now)
	if err != nil {
		return Refreshed{}, fmt.Errorf("wallet: refresh: %w", err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	h := &issuerClient{ctx: ctx, c: client}
	var meta oid4vci.IssuerMetadata
	if err := h.getJSON(oid4vci.WellKnownURL(e.Issuer, oid4vci.WellKnownIssuer), &meta); err != nil {
		return Refreshed{}, fmt.Errorf("wallet: refresh: %w: %w", ErrIssuerMetadata, err)
	}
	if meta.CredentialIssuer != e.Issuer || meta.CredentialEndpoint == "" || meta.NonceEndpoint == "" {
		return Refreshed{}, fmt.Errorf("wallet: refresh: %w: no credential and nonce endpoints published for %q", ErrIssuerMetadata, e.Issuer)
	}
	body, err := h.post(meta.NonceEndpoint, "", "", nil)
	if err != nil {
		return Refreshed{}, fmt.Errorf("wallet: refresh: nonce: %w", err)
	}
	nr, err := oid4vci.ParseNonceResponse(body)
	if err != nil {
		return Refreshed{}, fmt.Errorf("wallet: refresh: nonce: %w", err)
	}
	proof, err := oid4vci.NewProof(w.key, e.Issuer, nr.CNonce, h.issuerTime(now))
	if err != nil {
		return Refreshed{}, fmt.Errorf("wallet: refresh: %w", err)
	}
	var req struct {
		PermitNo string `json:"permit_no"`
		Proof    struct {
			ProofType string `json:"proof_type"`
			JWT       string `json:"jwt"`
		} `json:"proof"`
	}
	req.PermitNo, req.Proof.ProofType, req.Proof.JWT = e.PermitNo, "jwt", proof
	raw, err := json.Marshal(req)
	if err != nil {
		return Refreshed{}, err
	}
	body, err = h.post(strings.TrimSuffix(meta.CredentialEndpoint, "/")+RefreshPath, "", "application/json", raw)
	var ie *IssuerError
	if errors.As(err, &ie) && ie.Code == CodeUpToDate {
		return Refreshed{Entry: e}, nil
	}
	if err != nil {
		return Refreshed{}, fmt.Errorf("wallet: refresh %q: %w", e.PermitNo, err)
	}
	cr, err := oid4vci.ParseCredentialResponse(body)
	if err != nil {
		return Refreshed{}, fmt.Errorf("wallet: refresh %q: %w", e.PermitNo, err)
	}
	if len(cr.Credentials) != 1 {
		return Refreshed{}, fmt.Errorf("wallet: refresh %q: %d credentials in the answer, want 1", e.PermitNo, len(cr.Credentials))
	}
	fresh, err := Inspect(cr.Credentials[0].Credential, trusted, w.pub)
	if err != nil {
		return Refreshed{}, fmt.Errorf("wallet: refresh %q: %w", e.PermitNo, err)
	}
	if fresh.PermitNo != e.PermitNo || fresh.Issuer != e.Issuer {
		return Refreshed{}, fmt.Errorf("wallet: refresh %q: %w: the issuer answered with permit %q of %q",
			e.PermitNo, ErrInvalidCredential, fresh.PermitNo, fresh.Issuer)
	}
	added, err := w.add(cr.Credentials[0].Credential, trusted, e.Issuer)
	if err != nil {
		return Refreshed{}, err
	}
	return Refreshed{Entry: added, New: true}, nil
}
