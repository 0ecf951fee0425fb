package wallet

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/trust"
)

// NonceSize is the number of random bytes in the nonce of a presentation
// made without a challenge (16 characters of base64url).
const NonceSize = 12

// Request says what a presentation is for and whom it is addressed to.
type Request struct {
	// Purpose is what the permit is shown for; "" means
	// trust.DefaultPurpose.
	Purpose string
	// Policy says what each purpose needs; nil means trust.DefaultPolicy.
	// A wallet should use the policy of the trust list it last synced.
	Policy *trust.Policy
	// Audience and Nonce are the verifier's challenge. With Nonce set,
	// both go into the key-binding JWT as given and Audience is required.
	// Without a challenge the audience is Audience, or
	// credential.AnyAudience when empty, and the nonce is fresh.
	Audience, Nonce string
	// Now is the wallet's clock, the iat of the key-binding JWT. Required.
	Now time.Time
	// Rand is the source of a fresh nonce; nil means crypto/rand.
	Rand io.Reader
}

// Present returns a presentation of the credential held for permitNo ("" for
// the only one) for req.Purpose: the issuer-signed JWT, exactly the
// disclosures of the claim groups the purpose requires and no other, and a
// key-binding JWT signed with the device key.
//
// It refuses a purpose the policy does not name (ErrUnknownPurpose) and one
// it does not allow, with a *RefusedError carrying the policy's reason,
// before touching the credential. A credential without a disclosure the
// purpose requires gives ErrMissingGroup, and one the wallet has learnt to
// be revoked or superseded (CheckStatus) a *StatusError: see
// Status.LiveCode.
func (w *Wallet) Present(permitNo string, req Request) (string, error) {
	purpose, err := checkRequest(req)
	if err != nil {
		return "", err
	}
	e, issued, err := w.Get(permitNo)
	if err != nil {
		return "", err
	}
	if st := w.heldStatusOf(e); !st.LiveCode() {
		return "", &StatusError{PermitNo: e.PermitNo, Status: st.List, Checked: st.Checked}
	}
	return present(issued, w.key, purpose, req)
}

// PresentCredential is Present for a credential held elsewhere than in a
// wallet directory, such as a browser's storage, with the device key
// behind signer (a WebCrypto key, say). The credential is presented as it
// is: check it with Inspect when it is stored.
func PresentCredential(issued string, signer crypto.Signer, req Request) (string, error) {
	purpose, err := checkRequest(req)
	if err != nil {
		return "", err
	}
	return present(issued, signer, purpose, req)
}

// checkRequest returns the purpose of req if the policy allows it.
func checkRequest(req Request) (*trust.Purpose, error) {
	policy := req.Policy
	if policy == nil {
		p := trust.DefaultPolicy()
		policy = &p
	}
	id := req.Purpose
	if id == "" {
		id = trust.DefaultPurpose
	}
	purpose, ok := policy.Purpose(id)
	if !ok {
		return nil, fmt.Errorf("wallet: present: %w: %q", ErrUnknownPurpose, id)
	}
	if !purpose.Allowed {
		return nil, &RefusedError{Purpose: id, Refusal: purpose.Refusal}
	}
	if req.Now.IsZero() {
		return nil, fmt.Errorf("wallet: present: %w: no clock (Now)", ErrInvalidRequest)
	}
	if req.Nonce != "" && req.Audience == "" {
		return nil, fmt.Errorf("wallet: present: %w: a challenge nonce needs its audience", ErrInvalidRequest)
	}
	return purpose, nil
}

// present binds the disclosures purpose needs of issued to the holder key.
func present(issued string, signer crypto.Signer, purpose *trust.Purpose, req Request) (string, error) {
	id := purpose.ID
	aud, nonce := req.Audience, req.Nonce
	if nonce == "" {
		if aud == "" {
			aud = credential.AnyAudience
		}
		r := req.Rand
		if r == nil {
			r = rand.Reader
		}
		b := make([]byte, NonceSize)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", fmt.Errorf("wallet: present: nonce: %w", err)
		}
		nonce = base64.RawURLEncoding.EncodeToString(b)
	}

	p, err := sdjwt.Split(issued)
	if err != nil {
		return "", fmt.Errorf("wallet: present: %w: %w", ErrInvalidCredential, err)
	}
	keep := make([]string, 0, len(purpose.Required))
	found := make([]string, 0, len(purpose.Required))
	for _, d := range p.Disclosures {
		if g := credential.GroupOf(d); g != "" && slices.Contains(purpose.Required, g) && !slices.Contains(found, g) {
			keep = append(keep, d)
			found = append(found, g)
		}
	}
	for _, g := range purpose.Required {
		if !slices.Contains(found, g) {
			return "", fmt.Errorf("wallet: present: %w: %s needs %q", ErrMissingGroup, id, g)
		}
	}
	b, err := sdjwt.Bind(sdjwt.Presentation{IssuerJWT: p.IssuerJWT, Disclosures: keep}, signer, aud, nonce, req.Now)
	if err != nil {
		return "", fmt.Errorf("wallet: present: %w", err)
	}
	return b.String(), nil
}
