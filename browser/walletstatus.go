package browser

import (
	"errors"
	"fmt"
	"strings"

	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/wallet"
)

// WalletStatusResult is the result of WalletStatus: the credential's entry
// (as Inspect gives it), where its status list is, what the wallet knows
// of its status, and what the page should offer.
type WalletStatusResult struct {
	Outcome
	Entry *Entry `json:"entry"`
	// URI and Idx are the credential's status list entry: the page fetches
	// the list at URI.
	URI string `json:"uri"`
	Idx int    `json:"idx"`
	// Status is "valid", "revoked", "suspended", "superseded" or
	// "unknown": what the token given records, else the held status given.
	Status string `json:"status"`
	// ListIssuedAt is when the issuer issued the token read (its iat, ms);
	// 0 when no token was read.
	ListIssuedAt int64 `json:"listIssuedAt"`
	// LiveCode reports whether the page shows a code of the credential:
	// not when it is revoked or superseded (wallet.Status.LiveCode).
	LiveCode bool `json:"liveCode"`
	// Refresh reports whether asking the issuer for the credential again
	// may give a newer one (wallet.Status.Refreshable): the endorsement
	// window is open or past, or a newer credential exists.
	Refresh bool `json:"refresh"`
}

// WalletStatus reads the status of a credential the web wallet holds. It
// checks the credential as Inspect does (the issuer signature against
// jwksJSON, the binding to the device key publicRaw) and, when token is not
// empty, reads the credential's entry in that Status List Token with
// wallet.ReadStatus, against the keys the loaded trust list gives the
// credential's issuer (whatever the list's validity period: the page shows
// what the issuer said, dated by ListIssuedAt, and decides nothing else on
// it). Without a token it goes by held, the status the page kept from an
// earlier read ("" for none). nowMs dates the endorsement figures.
//
// Failures: those of Inspect; CodeNoTrust for a token before a trust list
// is loaded; CodeUnknownKey, CodeBadSignature and CodeInvalid for a token
// that does not verify or is not the credential's list, CodeBadInput for a
// held status that is not one of the five. A token that fails still gives
// the entry and what held says, for the page to show.
func (s *Session) WalletStatus(cred, jwksJSON string, publicRaw []byte, token, held string, nowMs int64) WalletStatusResult {
	in := Inspect(cred, jwksJSON, publicRaw, nowMs)
	if !in.OK {
		return WalletStatusResult{Outcome: in.Outcome}
	}
	// Inspect has checked all this; its wallet.Entry has the status reference.
	device, _ := devicePublic(publicRaw)
	set, _ := keys.ParseJWKS([]byte(jwksJSON))
	e, err := wallet.Inspect(strings.TrimSpace(cred), &set, device)
	if err != nil {
		return WalletStatusResult{Outcome: Fail(credentialCode(err), err)}
	}
	st := wallet.Status{Entry: e, List: wallet.ListStatus(held)}
	out := WalletStatusResult{Outcome: ok, Entry: in.Entry, URI: e.Status.URI, Idx: e.Status.Idx}
	switch st.List {
	case "":
		st.List = wallet.StatusUnknown
	case wallet.StatusUnknown, wallet.StatusValid, wallet.StatusRevoked, wallet.StatusSuspended, wallet.StatusSuperseded:
	default:
		return WalletStatusResult{Outcome: Fail(CodeBadInput, fmt.Errorf("browser: held status %q", held))}
	}
	if token = strings.TrimSpace(token); token != "" {
		switch l := s.list(); {
		case len(token) > maxToken:
			out.Outcome = Fail(CodeBadInput, fmt.Errorf("browser: status list token of %d bytes, at most %d", len(token), maxToken))
		case l == nil:
			out.Outcome = Fail(CodeNoTrust, errors.New("browser: load a trust list before reading a status list"))
		default:
			got, vt, err := wallet.ReadStatus(e, token, l)
			switch {
			case errors.Is(err, jws.ErrUnknownKey):
				out.Outcome = Fail(CodeUnknownKey, err)
			case errors.Is(err, jws.ErrSignature):
				out.Outcome = Fail(CodeBadSignature, err)
			case err != nil:
				out.Outcome = Fail(CodeInvalid, err)
			default:
				st.List, out.ListIssuedAt = got, msOf(vt.IssuedAt)
			}
		}
	}
	now := timeOf(nowMs)
	out.Status, out.LiveCode, out.Refresh = string(st.List), st.LiveCode(), st.Refreshable(now)
	return out
}

// TextResult is a message in Chinese and English, when OK.
type TextResult struct {
	Outcome
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// codeErrors are the wallet errors behind the failure codes a wallet page
// meets, whose words package wallet has.
var codeErrors = map[Code]error{
	CodeNotMyKey:          wallet.ErrNotMyKey,
	CodeIssuerSignature:   wallet.ErrIssuerSignature,
	CodeInvalidCredential: wallet.ErrInvalidCredential,
	CodeUntrustedIssuer:   wallet.ErrUntrustedIssuer,
	CodeMissingGroup:      wallet.ErrMissingGroup,
	CodeUnknownPurpose:    wallet.ErrUnknownPurpose,
}

// WalletText returns the words a resident reads for code, in Chinese and
// English (package wallet's): an error code of the issuer service (an
// OAuth or OpenID4VCI code, or one of the service's own), a failure code of
// this package's wallet functions, or the status "revoked" or
// "superseded", with what to do. An unknown code fails with CodeBadInput.
func WalletText(code string) TextResult {
	var err error
	switch code {
	case string(wallet.StatusRevoked), string(wallet.StatusSuperseded):
		err = &wallet.StatusError{Status: wallet.ListStatus(code)}
	default:
		if t, known := wallet.CodeText(code); known {
			return TextResult{Outcome: ok, ZH: t.ZH, EN: t.EN}
		}
		err = codeErrors[Code(code)]
	}
	if err == nil {
		return TextResult{Outcome: Fail(CodeBadInput, fmt.Errorf("browser: no words for code %q", code))}
	}
	t, _ := wallet.Explain(err)
	return TextResult{Outcome: ok, ZH: t.ZH, EN: t.EN}
}
