package oid4vci

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/epermit/epermit/internal/jws"
)

// MaxCredentialRequest is the largest credential request body
// ParseCredentialRequest accepts, in bytes.
const MaxCredentialRequest = 64 << 10

// Draft is the version of OpenID4VCI whose form a credential request
// takes, and so the form of its answer.
type Draft int

const (
	// Final is OpenID4VCI 1.0, and drafts 15 and later: the request names a
	// credential_configuration_id, the answer is a [CredentialResponse].
	Final Draft = iota
	// Draft13 is drafts 13 and 14: the request names a format and, for
	// SD-JWT VC, a vct instead of a credential configuration; the answer is
	// a [Draft13CredentialResponse] with a top-level credential.
	Draft13
)

// CredentialRequest is a credential request for one credential.
type CredentialRequest struct {
	// Draft is the form of the request, Final unless it named a format
	// without a credential_configuration_id.
	Draft Draft
	// ConfigurationID names the requested entry of
	// credential_configurations_supported (Final). [IssuerMetadata.Configuration]
	// checks it, or finds the entry that Format and VCT name (Draft13).
	ConfigurationID string
	// Format and VCT are the credential format and type of a Draft13
	// request, as sent: "dc+sd-jwt", or "vc+sd-jwt" as drafts before 1.0
	// called it.
	Format, VCT string
	// Proofs holds the jwt key proofs; exactly one once parsed.
	Proofs []string
}

// credentialRequestMembers are the members of a credential request this
// package reads; others are ignored.
var credentialRequestMembers = []string{"credential_configuration_id", "format", "vct", "proofs", "proof",
	"credential_identifier", "credential_response_encryption"}

// ParseCredentialRequest decodes a credential request body. It accepts the
// OpenID4VCI 1.0 form
//
//	{"credential_configuration_id":"...","proofs":{"jwt":["..."]}}
//
// and the draft-13 form, recognised by a format and no
// credential_configuration_id (see [Draft13]):
//
//	{"format":"vc+sd-jwt","vct":"...","proof":{"proof_type":"jwt","jwt":"..."}}
//
// Either form may carry its proof as proofs or as the single proof of the
// drafts. Members it does not know are ignored (OpenID4VCI 1.0 section
// 8.2), and so are format and vct beside a credential_configuration_id.
// Refusals, as *Error: invalid_credential_request for a body over
// MaxCredentialRequest, JSON that is not a strict object (duplicate
// members, or members differing from a known name only in case), neither a
// credential_configuration_id nor a format, a draft-13 request without
// vct, both proof and proofs, or more than one proof (one credential per
// request); invalid_encryption_parameters for credential_response_encryption
// (responses are never encrypted here); unknown_credential_identifier for a
// credential_identifier (none is ever handed out); invalid_proof for missing
// or empty proofs or a proof type other than jwt. With an invalid_proof
// error the request is returned too, without Proofs, so that the caller can
// answer in its Draft's form.
func ParseCredentialRequest(body []byte) (CredentialRequest, error) {
	bad := func(format string, a ...any) error {
		return newError(CodeInvalidCredentialRequest, fmt.Sprintf(format, a...), nil)
	}
	if len(body) > MaxCredentialRequest {
		return CredentialRequest{}, bad("body is %d bytes, at most %d", len(body), MaxCredentialRequest)
	}
	var m map[string]json.RawMessage
	if err := jws.DecodeStrict(body, &m); err != nil || m == nil {
		return CredentialRequest{}, newError(CodeInvalidCredentialRequest, "body is not a strict JSON object", err)
	}
	for k := range m {
		for _, known := range credentialRequestMembers {
			if k != known && strings.EqualFold(k, known) {
				return CredentialRequest{}, bad("member %q differs from %q only in case", clip(k), known)
			}
		}
	}
	if _, ok := m["credential_response_encryption"]; ok {
		return CredentialRequest{}, newError(CodeInvalidEncryptionParameters, "encrypted credential responses are not supported", nil)
	}
	if _, ok := m["credential_identifier"]; ok {
		return CredentialRequest{}, newError(CodeUnknownCredentialIdentifier, "this issuer hands out no credential identifiers: send credential_configuration_id", nil)
	}
	var r CredentialRequest
	if err := stringMember(m, "credential_configuration_id", &r.ConfigurationID); err != nil {
		return CredentialRequest{}, err
	}
	_, hasConfig := m["credential_configuration_id"]
	_, hasFormat := m["format"]
	switch {
	case hasConfig:
		if r.ConfigurationID == "" {
			return CredentialRequest{}, bad("credential_configuration_id is empty")
		}
	case hasFormat:
		r.Draft = Draft13
		if err := stringMember(m, "format", &r.Format); err != nil {
			return CredentialRequest{}, err
		}
		if err := stringMember(m, "vct", &r.VCT); err != nil {
			return CredentialRequest{}, err
		}
		if r.Format == "" {
			return CredentialRequest{}, bad("format is empty")
		}
		if r.VCT == "" && (r.Format == Format || r.Format == FormatDraft) {
			return CredentialRequest{}, bad("vct is missing or empty")
		}
	default:
		return CredentialRequest{}, bad("credential_configuration_id is missing")
	}
	proofs, err := parseProofs(m)
	if err != nil {
		// The request is returned with its error: a draft-13 wallet gets a
		// fresh nonce with an invalid_proof answer (draft 13 section 7.3.2).
		return r, err
	}
	r.Proofs = proofs
	return r, nil
}

// parseProofs reads the proofs member, or the proof member of the drafts,
// of a credential request.
func parseProofs(m map[string]json.RawMessage) ([]string, error) {
	var proofs []string
	rawProofs, hasProofs := m["proofs"]
	rawProof, hasProof := m["proof"]
	switch {
	case hasProofs && hasProof:
		return nil, newError(CodeInvalidCredentialRequest, "both proof and proofs are present", nil)
	case hasProofs:
		var p map[string]json.RawMessage
		if err := json.Unmarshal(rawProofs, &p); err != nil || p == nil {
			return nil, newError(CodeInvalidProof, "proofs is not an object", err)
		}
		if len(p) != 1 {
			return nil, newError(CodeInvalidProof, fmt.Sprintf("proofs has %d proof types, want exactly one", len(p)), nil)
		}
		raw, ok := p["jwt"]
		if !ok {
			for k := range p {
				return nil, newError(CodeInvalidProof, fmt.Sprintf("proof type %q is not supported", clip(k)), nil)
			}
		}
		if err := json.Unmarshal(raw, &proofs); err != nil || proofs == nil {
			return nil, newError(CodeInvalidProof, "proofs.jwt is not an array of strings", err)
		}
	case hasProof:
		var p struct {
			ProofType *string `json:"proof_type"`
			JWT       *string `json:"jwt"`
		}
		if err := jws.DecodeStrict(rawProof, &p); err != nil || len(rawProof) == 0 || rawProof[0] != '{' {
			return nil, newError(CodeInvalidProof, "proof is not an object with string members", err)
		}
		if p.ProofType == nil || *p.ProofType != "jwt" {
			return nil, newError(CodeInvalidProof, "proof_type is not jwt", nil)
		}
		if p.JWT == nil {
			return nil, newError(CodeInvalidProof, "proof.jwt is missing", nil)
		}
		proofs = []string{*p.JWT}
	default:
		return nil, newError(CodeInvalidProof, "proofs is missing", nil)
	}
	switch {
	case len(proofs) == 0:
		return nil, newError(CodeInvalidProof, "proofs.jwt is empty", nil)
	case len(proofs) > 1:
		return nil, newError(CodeInvalidCredentialRequest, fmt.Sprintf("%d proofs: one credential is issued per request", len(proofs)), nil)
	case proofs[0] == "":
		return nil, newError(CodeInvalidProof, "proof jwt is empty", nil)
	}
	return proofs, nil
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

// MarshalJSON encodes the request in the form of its Draft: for Final,
// the OpenID4VCI 1.0 form with proofs; for Draft13, format, vct and the
// single proof (with the first of Proofs).
func (r CredentialRequest) MarshalJSON() ([]byte, error) {
	if r.Draft == Draft13 {
		type proof struct {
			ProofType string `json:"proof_type"`
			JWT       string `json:"jwt"`
		}
		var p *proof
		if len(r.Proofs) > 0 {
			p = &proof{"jwt", r.Proofs[0]}
		}
		return jws.Marshal(struct {
			Format string `json:"format"`
			VCT    string `json:"vct,omitempty"`
			Proof  *proof `json:"proof,omitempty"`
		}{r.Format, r.VCT, p})
	}
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

// Draft13CredentialResponse is the immediate credential response of drafts
// 13 and 14, the answer to a Draft13 request.
type Draft13CredentialResponse struct {
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
