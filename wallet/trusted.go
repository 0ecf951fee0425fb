package wallet

import (
	"fmt"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/trust"
)

// IssuerKeys returns the keys a verified trust list gives the issuer iss,
// against which a wallet checks the credentials it receives from iss. It
// refuses, with ErrUntrustedIssuer, an issuer the list does not name and a
// list that is not valid at now (before its nbf, or past its exp and the
// grace period of its policy): the wallet then takes no offer from iss.
func IssuerKeys(list *trust.List, iss string, now time.Time) (*keys.JWKS, error) {
	if err := list.ValidAt(now, list.Policy.ClockSkew.Duration()); err != nil {
		return nil, fmt.Errorf("%w: %w (sync it again)", ErrUntrustedIssuer, err)
	}
	for i := range list.Issuers {
		if is := &list.Issuers[i]; is.ID == iss {
			return &is.JWKS, nil
		}
	}
	return nil, fmt.Errorf("%w: %q is not named in the trust list (version %d): a phishing offer, or an issuer this wallet was not told to trust",
		ErrUntrustedIssuer, iss, list.Version)
}
