package oid4vci

import (
	"encoding/json"
	"fmt"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/jws"
)

// MaxCredentialRequest is the largest credential request body
// ParseCredentialRequest accepts, in bytes.
const MaxCredentialRequest = 64 << 10

// CredentialRequest is a credential request for one credential.
type CredentialRequest struct {
	// ConfigurationID names the requested entry of
	// credential_configurations_supported. The caller checks that it is
	// one it offers (else unknown_credential_configuration).
	ConfigurationID string
	// Proofs holds the jwt key proofs; exactly one once parsed.
	Proofs []string
}

// ParseCredentialRequest decodes a credential request body. It accepts the
// OpenID4VCI 1.0 form
//
//	{"credential_configuration_id":"...","proofs":{"jwt":["..."]}}
//
// and the single proof of earlier drafts, {"proof":{"proof_type":"jwt","jwt":"..."}},
// and tolerates the draft-13 members "format" and "vct" when they equal
// Format and credential.VCT. Refusals, as *Error:
// invalid_credential_request for a body over MaxCredentialRequest, JSON
// that is not a strict object, an unknown member, a missing
// credential_configuration_id, both proof and proofs, or more than one
// proof (one credential per request); invalid_proof for missing or empty
// proofs or a proof type other than jwt; unknown_credential_configuration
// for another format or vct.
func ParseCredentialRequest(body []byte) (CredentialRequest, error) {
	bad := func(format string, a ...any) error {
		return newError(CodeInvalidCredentialRequest, fmt.Sprintf(format, a...), nil)
	}
	if len(body) > MaxCredentialRequest {
		return CredentialRequest{}, bad("body is %d bytes, at most %d", len(body), MaxCredentialRequest)
	}
	var m map[string]json.RawMessage
	if err := jws.DecodeStrict(body, &m); err != nil || m == nil {
		return CredentialRequest{}, newError(CodeInvalidCredentialRequest, "body is not a JSON object", err)
	}
	for k := range m {
		switch k {
		case "credential_configuration_id", "proofs", "proof", "format", "vct":
		default:
			return CredentialRequest{}, bad("unsupported parameter %q", clip(k))
		}
	}
	var r CredentialRequest
	if err := stringMember(m, "credential_configuration_id", &r.ConfigurationID); err != nil {
		return CredentialRequest{}, err
	}
	if r.ConfigurationID == "" {
		return CredentialRequest{}, bad("credential_configuration_id is missing")
	}
	var format, vct string
	if err := stringMember(m, "format", &format); err != nil {
		return CredentialRequest{}, err
	}
	if err := stringMember(m, "vct", &vct); err != nil {
		return CredentialRequest{}, err
	}
	if _, ok := m["format"]; ok && format != Format {
		return CredentialRequest{}, newError(CodeUnknownCredentialConfiguration, fmt.Sprintf("format %q is not %q", clip(format), Format), nil)
	}
	if _, ok := m["vct"]; ok && vct != credential.VCT {
		return CredentialRequest{}, newError(CodeUnknownCredentialConfiguration, fmt.Sprintf("vct %q is not %q", clip(vct), credential.VCT), nil)
	}
	rawProofs, hasProofs := m["proofs"]
	rawProof, hasProof := m["proof"]
	switch {
	case hasProofs && hasProof:
		return CredentialRequest{}, bad("both proof and proofs are present")
	case hasProofs:
		var p map[string]json.RawMessage
		if err := json.Unmarshal(rawProofs, &p); err != nil || p == nil {
			return CredentialRequest{}, newError(CodeInvalidProof, "proofs is not an object", err)
		}
		if len(p) != 1 {
			return CredentialRequest{}, newError(CodeInvalidProof, fmt.Sprintf("proofs has %d proof types, want exactly one", len(p)), nil)
		}
		raw, ok := p["jwt"]
		if !ok {
			for k := range p {
				return CredentialRequest{}, newError(CodeInvalidProof, fmt.Sprintf("proof type %q is not supported", clip(k)), nil)
			}
		}
		if err := json.Unmarshal(raw, &r.Proofs); err != nil || r.Proofs == nil {
			return CredentialRequest{}, newError(CodeInvalidProof, "proofs.jwt is not an array of strings", err)
		}
	case hasProof:
		var p struct {
			ProofType *string `json:"proof_type"`
			JWT       *string `json:"jwt"`
		}
		var pm map[string]json.RawMessage
		if err := json.Unmarshal(rawProof, &pm); err != nil || pm == nil {
			return CredentialRequest{}, newError(CodeInvalidProof, "proof is not an object", err)
		}
		for k := range pm {
			if k != "proof_type" && k != "jwt" {
				return CredentialRequest{}, newError(CodeInvalidProof, fmt.Sprintf("proof member %q is not supported", clip(k)), nil)
			}
		}
		if err := json.Unmarshal(rawProof, &p); err != nil {
			return CredentialRequest{}, newError(CodeInvalidProof, "proof members are not strings", err)
		}
		if p.ProofType == nil || *p.ProofType != "jwt" {
			return CredentialRequest{}, newError(CodeInvalidProof, "proof_type is not jwt", nil)
		}
		if p.JWT == nil {
			return CredentialRequest{}, newError(CodeInvalidProof, "proof.jwt is missing", nil)
		}
		r.Proofs = []string{*p.JWT}
	default:
		return CredentialRequest{}, newError(CodeInvalidProof, "proofs is missing", nil)
	}
	switch {
	case len(r.Proofs) == 0:
		return CredentialRequest{}, newError(CodeInvalidProof, "proofs.jwt is empty", nil)
	case len(r.Proofs) > 1:
		return CredentialRequest{}, bad("%d proofs: one credential is issued per request", len(r.Proofs))
	case r.Proofs[0] == "":
		return CredentialRequest{}, newError(CodeInvalidProof, "proof jwt is empty", nil)
	}
	return r, nil
}

// stringMember decodes the member name of m, if present, as a string.
func stringMember(m map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := m[name]
	if !ok {
		return nil
	}
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
		return newError(CodeInvalidCredentialRequest, name+" is not a string", nil)
	}
	return nil
}

// MarshalJSON encodes the request in the OpenID4VCI 1.0 form.
func (r CredentialRequest) MarshalJSON() ([]byte, error) {
	return jws.Marshal(struct {
		ConfigurationID string              `json:"credential_configuration_id"`
		Proofs          map[string][]string `json:"proofs"`
	}{r.ConfigurationID, map[string][]string{"jwt": r.Proofs}})
}

// CredentialResponse is an immediate credential response.
type CredentialResponse struct {
	Credentials []IssuedCredential `json:"credentials"`
}

// IssuedCredential is one credential of a CredentialResponse: for
// dc+sd-jwt, the SD-JWT VC in its compact form ending with '~'.
type IssuedCredential struct {
	Credential string `json:"credential"`
}

// ParseCredentialResponse decodes an immediate credential response strictly
// (unknown members such as notification_id are ignored) and checks that it
// holds at least one non-empty credential string. Deferred responses
// (transaction_id) are refused.
func ParseCredentialResponse(body []byte) (CredentialResponse, error) {
	var w struct {
		Credentials   []IssuedCredential `json:"credentials"`
		TransactionID string             `json:"transaction_id"`
	}
	if err := jws.DecodeStrict(body, &w); err != nil {
		return CredentialResponse{}, fmt.Errorf("oid4vci: credential response: %w", err)
	}
	if w.TransactionID != "" {
		return CredentialResponse{}, fmt.Errorf("oid4vci: credential response: deferred issuance is not supported")
	}
	if len(w.Credentials) == 0 {
		return CredentialResponse{}, fmt.Errorf("oid4vci: credential response: no credentials")
	}
	for i, c := range w.Credentials {
		if c.Credential == "" {
			return CredentialResponse{}, fmt.Errorf("oid4vci: credential response: credential %d is empty", i)
		}
	}
	return CredentialResponse{Credentials: w.Credentials}, nil
}
