package browser

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
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

// SignFunc signs message with the device's private key and returns the
// signature WebCrypto's crypto.subtle.sign resolves to: for an Ed25519 key
// (algorithm "Ed25519", pure Ed25519, no pre-hash) the 64-byte signature;
// for a P-256 key (algorithm {name: "ECDSA", hash: "SHA-256"}, which
// hashes the message itself) the 64-byte r||s.
type SignFunc func(message []byte) ([]byte, error)

// DeviceKey is a crypto.Signer for a wallet's device key held outside Go,
// such as a non-extractable WebCrypto key: Ed25519, or ECDSA P-256 where
// the browser has no Ed25519. It checks every signature against the public
// key before returning it.
type DeviceKey struct {
	pub  crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey
	sign SignFunc
}

var (
	_ crypto.Signer        = (*DeviceKey)(nil)
	_ crypto.MessageSigner = (*DeviceKey)(nil)
)

// NewDeviceKey returns the DeviceKey with raw public key publicRaw that
// signs with sign: 32 bytes for an Ed25519 key, or the 65-byte uncompressed
// point (0x04, x, y) for a P-256 key, as WebCrypto exports either in "raw"
// form. A key that package keys would refuse as a holder key (a
// small-order point, a point off the curve) is refused.
func NewDeviceKey(publicRaw []byte, sign SignFunc) (*DeviceKey, error) {
	pub, err := devicePublic(publicRaw)
	if err != nil {
		return nil, err
	}
	if sign == nil {
		return nil, errors.New("browser: no signing function")
	}
	return &DeviceKey{pub: pub, sign: sign}, nil
}

// devicePublic decodes a raw device public key as NewDeviceKey documents.
func devicePublic(raw []byte) (crypto.PublicKey, error) {
	var pub crypto.PublicKey
	switch {
	case len(raw) == ed25519.PublicKeySize:
		pub = ed25519.PublicKey(append([]byte(nil), raw...))
	case len(raw) == 65 && raw[0] == 4:
		k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("browser: device public key: not a P-256 point")
		}
		pub = k
	default:
		return nil, fmt.Errorf("browser: device public key of %d bytes, want 32 (Ed25519) or 65 (P-256, uncompressed)", len(raw))
	}
	if _, err := keys.HolderJWK(pub); err != nil {
		return nil, fmt.Errorf("browser: device public key: %w", err)
	}
	return pub, nil
}

// Public returns the ed25519.PublicKey or the P-256 *ecdsa.PublicKey.
func (k *DeviceKey) Public() crypto.PublicKey { return k.pub }

// Alg returns the JOSE algorithm of the key: "EdDSA" or "ES256".
func (k *DeviceKey) Alg() string {
	if _, ok := k.pub.(*ecdsa.PublicKey); ok {
		return keys.AlgES256
	}
	return keys.AlgEdDSA
}

// Sign signs message with an Ed25519 device key (opts must be
// crypto.Hash(0): message is the message, not a digest). A P-256 key
// cannot sign a digest, since WebCrypto hashes for itself: it signs through
// SignMessage, which crypto.SignMessage (and so package jws) prefers. The
// random source is not used.
func (k *DeviceKey) Sign(_ io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, ok := k.pub.(*ecdsa.PublicKey); ok {
		return nil, fmt.Errorf("browser: device key: a P-256 WebCrypto key signs messages, not digests (use SignMessage)")
	}
	if opts != nil && opts.HashFunc() != 0 {
		return nil, fmt.Errorf("browser: device key: pre-hashed Ed25519 is not supported")
	}
	return k.SignMessage(nil, message, crypto.Hash(0))
}

// SignMessage signs message: Ed25519 with opts crypto.Hash(0), or ECDSA
// P-256 over its SHA-256 with opts crypto.SHA256, returning the signature
// in the form crypto.Signer gives it (ASN.1 DER for ECDSA). The signature
// is checked against the public key first (ErrKeyMismatch).
func (k *DeviceKey) SignMessage(_ io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	var want crypto.Hash
	if _, ok := k.pub.(*ecdsa.PublicKey); ok {
		want = crypto.SHA256
	}
	if opts == nil || opts.HashFunc() != want {
		return nil, fmt.Errorf("browser: device key: %s signs with hash %v", k.Alg(), want)
	}
	sig, err := k.sign(message)
	if err != nil {
		return nil, fmt.Errorf("browser: %w: %w", ErrSign, err)
	}
	switch pub := k.pub.(type) {
	case ed25519.PublicKey:
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, message, sig) {
			return nil, fmt.Errorf("browser: %w", ErrKeyMismatch)
		}
		return sig, nil
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return nil, fmt.Errorf("browser: %w: signature of %d bytes, want r||s of 64", ErrKeyMismatch, len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		sum := sha256.Sum256(message)
		if !ecdsa.Verify(pub, sum[:], r, s) {
			return nil, fmt.Errorf("browser: %w", ErrKeyMismatch)
		}
		return asn1.Marshal(struct{ R, S *big.Int }{r, s})
	}
	return nil, fmt.Errorf("browser: %w", ErrKeyMismatch)
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
// JWKS; take it from the trust list with Session.IssuerKeys), and that it
// is bound to the device key publicRaw (32 bytes for Ed25519, 65 for
// P-256). nowMs is when the endorsement figures are counted from.
//
// Failures: CodeBadInput for a JWKS that does not parse or a key that is
// not a device key, CodeInvalidCredential, CodeIssuerSignature and
// CodeNotMyKey (issued to another device).
func Inspect(cred, jwksJSON string, publicRaw []byte, nowMs int64) InspectResult {
	device, err := devicePublic(publicRaw)
	if err != nil {
		return InspectResult{Outcome: Fail(CodeBadInput, err)}
	}
	set, err := keys.ParseJWKS([]byte(jwksJSON))
	if err != nil {
		return InspectResult{Outcome: Fail(CodeBadInput, fmt.Errorf("browser: issuer keys: %w", err))}
	}
	e, err := wallet.Inspect(strings.TrimSpace(cred), &set, device)
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

// IssuerKeysResult is the result of IssuerKeys: the issuer's keys as a
// JWKS (JSON, for Inspect) and its names, when OK.
type IssuerKeysResult struct {
	Outcome
	JWKS   string `json:"jwks"`
	NameZH string `json:"nameZH"`
	NameEN string `json:"nameEN"`
}

// IssuerKeys returns the keys the loaded trust list gives the issuer iss,
// with wallet.IssuerKeys: the web wallet takes an offer only from an
// issuer the trust list of its site names, and checks the credential with
// these keys rather than any the issuer publishes.
//
// Failures: CodeNoTrust before a trust list is loaded, and
// CodeUntrustedIssuer for an issuer the list does not name or a list not
// valid at nowMs.
func (s *Session) IssuerKeys(iss string, nowMs int64) IssuerKeysResult {
	l := s.list()
	if l == nil {
		return IssuerKeysResult{Outcome: Fail(CodeNoTrust, errors.New("browser: no trust list loaded: the wallet cannot tell a genuine issuer"))}
	}
	set, err := wallet.IssuerKeys(l, iss, timeOf(nowMs))
	if err != nil {
		return IssuerKeysResult{Outcome: Fail(CodeUntrustedIssuer, fmt.Errorf("browser: %w", err))}
	}
	b, err := set.Marshal()
	if err != nil {
		return IssuerKeysResult{Outcome: Fail(CodeInvalid, fmt.Errorf("browser: %w", err))}
	}
	out := IssuerKeysResult{Outcome: ok, JWKS: string(b)}
	for _, is := range l.Issuers {
		if is.ID == iss {
			out.NameZH, out.NameEN = is.Name.ZH, is.Name.EN
		}
	}
	return out
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
