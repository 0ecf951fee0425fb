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
//  3. The wallet gets a c_nonce at the nonce endpoint (a [NonceResponse];
//     the c_nonce of the token response serves wallets of earlier drafts),
//     signs a proof with [NewProof] and posts a credential request. The
//     issuer reads it with [ParseCredentialRequest], finds the
//     configuration asked for with [IssuerMetadata.Configuration], reads the
//     proof's nonce with [ProofNonce], checks the proof with [VerifyProof],
//     which returns the key to bind the credential to, consumes the nonce in
//     its store (a nonce the store does not know is [ErrUnknownNonce]), and
//     answers a [CredentialResponse], or a [Draft13CredentialResponse] to a
//     draft-13 request.
//
// # Drafts
//
// Credential requests of OpenID4VCI 1.0 and of drafts 13 to 16 are
// understood. A request with a credential_configuration_id is read as 1.0
// ([Final]); one with a format and no credential_configuration_id as draft
// 13 or 14 ([Draft13]), answered with a top-level credential. Either may
// carry its proof as the 1.0 proofs or the drafts' single proof.
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
// JSON is decoded strictly: duplicate members, and members whose names
// differ from a known one only in case, are refused. A credential request's
// members that this package does not know are ignored, as OpenID4VCI 1.0
// section 8.2 requires; those it knows but e-permit does not support are
// refused rather than ignored: credential_response_encryption
// (invalid_encryption_parameters: ignoring it would send in plaintext a
// credential the wallet asked to have encrypted), credential_identifier
// (unknown_credential_identifier), and batches of more than one proof.
package oid4vci
