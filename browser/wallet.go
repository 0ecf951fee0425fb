package browser

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/wallet"
)

// Errors of a DeviceKey, wrapped with context.
var (
	// ErrKeyMismatch reports a signature that does not verify with the
	// public key the page gave: the private key is another one.
	ErrKeyMismatch = errors.New("device key does not match its public key")
	// ErrSign reports that the signing function failed, such as a
	// WebCrypto error.
	ErrSign = errors.New("device key could not sign")
)

// SignFunc signs message with an Ed25519 private key (pure Ed25519, no
// pre-hash) and returns the 64-byte signature: what WebCrypto's
// crypto.subtle.sign("Ed25519", key, message) resolves to.
type SignFunc func(message []byte) ([]byte, error)

// DeviceKey is a crypto.Signer for a wallet's Ed25519 device key held
// outside Go, such as a non-extractable WebCrypto key. It checks every
// signature against the public key before returning it.
type DeviceKey struct {
	pub  ed25519.PublicKey
	sign SignFunc
}

var _ crypto.Signer = (*DeviceKey)(nil)

// NewDeviceKey returns the DeviceKey with raw public key publicRaw (32
// bytes) that signs with sign.
func NewDeviceKey(publicRaw []byte, sign SignFunc) (*DeviceKey, error) {
	if len(publicRaw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("browser: device public key of %d bytes, want %d", len(publicRaw), ed25519.PublicKeySize)
	}
	if sign == nil {
		return nil, errors.New("browser: no signing function")
	}
	return &DeviceKey{pub: ed25519.PublicKey(append([]byte(nil), publicRaw...)), sign: sign}, nil
}

// Public returns the ed25519.PublicKey.
func (k *DeviceKey) Public() crypto.PublicKey { return k.pub }

// Sign signs message (not a digest: opts must be crypto.Hash(0)) with the
// device key. The random source is not used.
func (k *DeviceKey) Sign(_ io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts != nil && opts.HashFunc() != 0 {
		return nil, fmt.Errorf("browser: device key: pre-hashed Ed25519 is not supported")
	}
	sig, err := k.sign(message)
	if err != nil {
		return nil, fmt.Errorf("browser: %w: %w", ErrSign, err)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(k.pub, message, sig) {
		return nil, fmt.Errorf("browser: %w", ErrKeyMismatch)
	}
	return sig, nil
}

// signCode classifies an error of a signing call.
func signCode(err error) Code {
	switch {
	case errors.Is(err, ErrKeyMismatch):
		return CodeKeyMismatch
	case errors.Is(err, ErrSign):
		return CodeSignFailed
	}
	return CodeBadInput
}

// ProofResult is the result of Proof: the proof JWT when OK.
type ProofResult struct {
	Outcome
	JWT string `json:"jwt"`
}

// Proof returns the OpenID4VCI key proof JWT (oid4vci.NewProof) that key
// holds the device key, for the credential issuer audience and its c_nonce
// (may be empty), made at nowMs.
func Proof(key crypto.Signer, audience, nonce string, nowMs int64) ProofResult {
	if key == nil {
		return ProofResult{Outcome: Fail(CodeBadInput, errors.New("browser: proof: no device key"))}
	}
	if audience == "" {
		return ProofResult{Outcome: Fail(CodeBadInput, errors.New("browser: proof: empty audience (the credential issuer)"))}
	}
	jwt, err := oid4vci.NewProof(key, audience, nonce, timeOf(nowMs))
	if err != nil {
		return ProofResult{Outcome: Fail(signCode(err), err)}
	}
	return ProofResult{Outcome: ok, JWT: jwt}
}

// Entry is a credential as the wallet lists it: its always-visible claims,
// dates in ms, and where it stands with its yearly endorsement (counted in
// China time, as on the permit): when the endorsement window opens, the
// days until then (zero on its first day, negative once open), whether
// now is inside the window and whether the endorsement is overdue.
type Entry struct {
	PermitNo        string `json:"permit_no"`
	Name            string `json:"name"`
	MaskedID        string `json:"masked_id"`
	Region          string `json:"region"`
	Issuer          string `json:"issuer"`
	IssuedAt        int64  `json:"issued_at"`
	Expires         int64  `json:"expires"`
	WindowOpens     int64  `json:"window_opens"`
	DaysUntilWindow int    `json:"days_until_window"`
	InWindow        bool   `json:"in_window"`
	Overdue         bool   `json:"overdue"`
}

// InspectResult is the result of Inspect: the entry when OK.
type InspectResult struct {
	Outcome
	Entry *Entry `json:"entry"`
}

// Inspect checks an issued credential before the wallet stores it, with
// wallet.Inspect: the issuer signature against jwksJSON (the issuer's
// JWKS), and that it is bound to the device key publicRaw. nowMs is when
// the endorsement figures are counted from.
//
// Failures: CodeBadInput for a JWKS that does not parse or a key that is
// not 32 bytes, CodeInvalidCredential, CodeIssuerSignature and
// CodeNotMyKey (issued to another device).
func Inspect(cred, jwksJSON string, publicRaw []byte, nowMs int64) InspectResult {
	if len(publicRaw) != ed25519.PublicKeySize {
		return InspectResult{Outcome: Fail(CodeBadInput, fmt.Errorf("browser: device public key of %d bytes, want %d", len(publicRaw), ed25519.PublicKeySize))}
	}
	set, err := keys.ParseJWKS([]byte(jwksJSON))
	if err != nil {
		return InspectResult{Outcome: Fail(CodeBadInput, fmt.Errorf("browser: issuer keys: %w", err))}
	}
	e, err := wallet.Inspect(strings.TrimSpace(cred), &set, ed25519.PublicKey(publicRaw))
	if err != nil {
		return InspectResult{Outcome: Fail(credentialCode(err), err)}
	}
	now := timeOf(nowMs)
	cn := permit.ChinaTime()
	p := permit.Permit{IssueDate: permit.DateOf(e.IssuedAt, cn), ValidUntil: permit.DateOf(e.Expires, cn)}
	opens := p.WindowOpens()
	return InspectResult{Outcome: ok, Entry: &Entry{
		PermitNo: e.PermitNo, Name: e.Name, MaskedID: e.MaskedID, Region: e.Region, Issuer: e.Issuer,
		IssuedAt: msOf(e.IssuedAt), Expires: msOf(e.Expires),
		WindowOpens:     time.Date(opens.Year, opens.Month, opens.Day, 0, 0, 0, 0, cn).UnixMilli(),
		DaysUntilWindow: p.DaysUntilWindow(permit.DateOf(now, cn)),
		InWindow:        e.InWindow(now),
		Overdue:         e.Overdue(now),
	}}
}

func credentialCode(err error) Code {
	switch {
	case errors.Is(err, wallet.ErrNotMyKey):
		return CodeNotMyKey
	case errors.Is(err, wallet.ErrIssuerSignature):
		return CodeIssuerSignature
	case errors.Is(err, wallet.ErrUnknownPurpose):
		return CodeUnknownPurpose
	case errors.Is(err, wallet.ErrPurposeRefused):
		return CodePurposeRefused
	case errors.Is(err, wallet.ErrMissingGroup):
		return CodeMissingGroup
	case errors.Is(err, wallet.ErrInvalidRequest):
		return CodeBadInput
	case errors.Is(err, ErrKeyMismatch):
		return CodeKeyMismatch
	case errors.Is(err, ErrSign):
		return CodeSignFailed
	}
	return CodeInvalidCredential
}

// PresentResult is the result of Present: the presentation text (raw, not
// packed) when OK.
type PresentResult struct {
	Outcome
	Text string `json:"text"`
}

// Present makes a presentation of an issued credential for purpose ("" for
// trust.DefaultPurpose) with wallet.PresentCredential: exactly the claim
// groups the purpose needs, under the policy of the loaded trust list (the
// default policy before one is loaded), and a fresh key-binding JWT signed
// by key at nowMs. audience and nonce are the verifier's challenge; both
// empty means none (a presentation for any verifier, with a fresh nonce).
//
// Failures: CodeUnknownPurpose, CodePurposeRefused (with the policy's
// reason in the error), CodeMissingGroup, CodeInvalidCredential,
// CodeBadInput (a nonce without its audience), CodeKeyMismatch and
// CodeSignFailed.
func (s *Session) Present(key crypto.Signer, cred, purpose, audience, nonce string, nowMs int64) PresentResult {
	if key == nil {
		return PresentResult{Outcome: Fail(CodeBadInput, errors.New("browser: present: no device key"))}
	}
	var policy *trust.Policy
	if l := s.list(); l != nil {
		policy = &l.Policy
	}
	text, err := wallet.PresentCredential(strings.TrimSpace(cred), key, wallet.Request{
		Purpose: purpose, Policy: policy, Audience: audience, Nonce: nonce, Now: timeOf(nowMs),
	})
	if err != nil {
		return PresentResult{Outcome: Fail(credentialCode(err), err)}
	}
	return PresentResult{Outcome: ok, Text: text}
}
