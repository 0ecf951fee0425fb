// Package oid4vci holds the messages of OpenID for Verifiable Credential
// Issuance 1.0 (OpenID4VCI) that e-permit uses to hand a residence permit
// credential (an SD-JWT VC, format "dc+sd-jwt") to a wallet: the
// pre-authorized code flow, one credential per request, proofs of possession
// of type jwt signed with Ed25519. It is pure: no HTTP, no storage. The
// issuer service calls the Parse and Verify functions on what it receives
// and encodes the response types as JSON; a wallet does the reverse with
// the same types.
//
// # The flow
//
//  1. The issuer builds an [Offer] (its identifier, the credential
//     configuration id, a fresh single-use pre-authorized code) and shows
//     [Offer.URI] as a QR code. The wallet reads it with [ParseOfferURI].
//     Offers by reference (credential_offer_uri) are not supported.
//  2. The wallet fetches the metadata at [WellKnownURL] (types
//     [IssuerMetadata] and [AuthServerMetadata]), then posts a token
//     request; the issuer reads it with [ParseTokenRequest] and answers a
//     [TokenResponse].
//  3. The wallet gets a c_nonce (a [NonceResponse], or the c_nonce of the
//     token response for older wallets), signs a proof with [NewProof] and
//     posts a credential request. The issuer reads it with
//     [ParseCredentialRequest], checks the proof with [VerifyProof], which
//     returns the key to bind the credential to, and answers a
//     [CredentialResponse].
//
// # Errors
//
// Every refusal of a request is an *[Error] carrying the OAuth error code
// that the endpoint must return ("invalid_request", "invalid_proof", ...);
// errors.As finds it. Its JSON form is the body of the error response. The
// description never quotes more than a short prefix of untrusted input and
// is reduced to the ASCII characters the specification allows.
//
// # Strictness
//
// JSON is decoded strictly (no duplicate or case-variant member names). A
// credential request with a member this package does not know is refused
// with invalid_credential_request rather than ignored: e-permit supports no
// optional extension (response encryption, credential identifiers, batch
// issuance), and silently ignoring, say, a request for an encrypted
// response would send the credential in a form the wallet did not ask for.
package oid4vci
