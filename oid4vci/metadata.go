package oid4vci

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/epermit/epermit/internal/jws"
)

// Well-known suffixes of the metadata documents.
const (
	WellKnownIssuer     = "openid-credential-issuer"
	WellKnownAuthServer = "oauth-authorization-server"
)

// IssuerMetadata is the credential issuer metadata served at
// WellKnownURL(issuer, WellKnownIssuer).
type IssuerMetadata struct {
	CredentialIssuer                  string                             `json:"credential_issuer"`
	AuthorizationServers              []string                           `json:"authorization_servers,omitempty"`
	CredentialEndpoint                string                             `json:"credential_endpoint"`
	NonceEndpoint                     string                             `json:"nonce_endpoint,omitempty"`
	Display                           []Display                          `json:"display,omitempty"`
	CredentialConfigurationsSupported map[string]CredentialConfiguration `json:"credential_configurations_supported"`
}

// Display is how to show the issuer, a credential or a claim to people in
// one language.
type Display struct {
	Name   string `json:"name"`
	Locale string `json:"locale,omitempty"` // BCP 47 language tag, such as "zh-CN"
	// Description, BackgroundColor and TextColor apply to credentials only.
	Description     string `json:"description,omitempty"`
	BackgroundColor string `json:"background_color,omitempty"` // CSS color, such as "#0b3d91"
	TextColor       string `json:"text_color,omitempty"`
}

// CredentialConfiguration describes one kind of credential the issuer
// issues, an entry of credential_configurations_supported.
type CredentialConfiguration struct {
	Format                               string                       `json:"format"`
	VCT                                  string                       `json:"vct"`
	Scope                                string                       `json:"scope,omitempty"`
	CryptographicBindingMethodsSupported []string                     `json:"cryptographic_binding_methods_supported"`
	CredentialSigningAlgValuesSupported  []string                     `json:"credential_signing_alg_values_supported"`
	ProofTypesSupported                  map[string]ProofTypeMetadata `json:"proof_types_supported"`
	CredentialMetadata                   *CredentialMetadata          `json:"credential_metadata,omitempty"`
}

// ProofTypeMetadata lists the algorithms accepted for one proof type.
type ProofTypeMetadata struct {
	ProofSigningAlgValuesSupported []string `json:"proof_signing_alg_values_supported"`
}

// CredentialMetadata holds display information for a credential
// (OpenID4VCI 1.0 section 12.2.4).
type CredentialMetadata struct {
	Display []Display `json:"display,omitempty"`
	Claims  []Claim   `json:"claims,omitempty"`
}

// Claim describes how to show one claim of a credential (OpenID4VCI 1.0
// appendix B.2).
type Claim struct {
	// Path is the claims path pointer (appendix C): member names, array
	// indices or null.
	Path      []any     `json:"path"`
	Mandatory bool      `json:"mandatory,omitempty"`
	Display   []Display `json:"display,omitempty"`
}

// NewIssuerMetadata returns the metadata of an issuer that is its own
// authorization server and offers one credential configuration: configID,
// format Format, the given vct (and configID as scope), bound to a jwk
// proved by a jwt proof signed with one of ProofAlgs, signed with
// EdDSA. names maps locales to the issuer's display name; the display list
// is sorted by locale. The caller sets NonceEndpoint when it requires
// nonces, and the credential's display.
func NewIssuerMetadata(issuer, credentialEndpoint, configID, vct string, names map[string]string) IssuerMetadata {
	var display []Display
	for _, loc := range slices.Sorted(maps.Keys(names)) {
		display = append(display, Display{Name: names[loc], Locale: loc})
	}
	return IssuerMetadata{
		CredentialIssuer:   issuer,
		CredentialEndpoint: credentialEndpoint,
		Display:            display,
		CredentialConfigurationsSupported: map[string]CredentialConfiguration{
			configID: {
				Format:                               Format,
				VCT:                                  vct,
				Scope:                                configID,
				CryptographicBindingMethodsSupported: []string{"jwk"},
				CredentialSigningAlgValuesSupported:  []string{jws.AlgEdDSA},
				ProofTypesSupported: map[string]ProofTypeMetadata{
					"jwt": {ProofSigningAlgValuesSupported: slices.Clone(ProofAlgs)},
				},
			},
		},
	}
}

// Configuration returns the id of the entry of
// credential_configurations_supported that r asks for. A Final request
// names it, and an id m does not list gives unknown_credential_configuration.
// A Draft13 request names a format and vct: the entry with that vct and
// format Format is found, the format also under its draft name
// FormatDraft; another format gives unsupported_credential_format and
// another vct unsupported_credential_type, the codes of draft 13.
func (m IssuerMetadata) Configuration(r CredentialRequest) (string, error) {
	if r.Draft != Draft13 {
		if _, ok := m.CredentialConfigurationsSupported[r.ConfigurationID]; !ok {
			return "", newError(CodeUnknownCredentialConfiguration, fmt.Sprintf("credential configuration %q is not offered", clip(r.ConfigurationID)), nil)
		}
		return r.ConfigurationID, nil
	}
	format := r.Format
	if format == FormatDraft {
		format = Format
	}
	formatKnown := false
	for _, id := range slices.Sorted(maps.Keys(m.CredentialConfigurationsSupported)) {
		c := m.CredentialConfigurationsSupported[id]
		if c.Format != format {
			continue
		}
		formatKnown = true
		if c.VCT == r.VCT {
			return id, nil
		}
	}
	if !formatKnown {
		return "", newError(CodeUnsupportedCredentialFormat, fmt.Sprintf("format %q is not issued here", clip(r.Format)), nil)
	}
	return "", newError(CodeUnsupportedCredentialType, fmt.Sprintf("vct %q is not issued here", clip(r.VCT)), nil)
}

// AuthServerMetadata is the OAuth authorization server metadata (RFC 8414)
// served at WellKnownURL(issuer, WellKnownAuthServer) when the credential
// issuer is its own authorization server.
type AuthServerMetadata struct {
	Issuer                                     string   `json:"issuer"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	PreAuthorizedGrantAnonymousAccessSupported bool     `json:"pre-authorized_grant_anonymous_access_supported"`
}

// NewAuthServerMetadata returns the metadata of an authorization server
// that supports only the pre-authorized code grant, without client
// authentication.
func NewAuthServerMetadata(issuer, tokenEndpoint string) AuthServerMetadata {
	return AuthServerMetadata{
		Issuer:              issuer,
		TokenEndpoint:       tokenEndpoint,
		GrantTypesSupported: []string{GrantPreAuthorized},
		PreAuthorizedGrantAnonymousAccessSupported: true,
	}
}

// WellKnownURL returns the URL of a metadata document of issuer as RFC 8414
// section 3 and OpenID4VCI section 12.2.2 build it: "/.well-known/" and
// suffix inserted between the host and the path, a trailing '/' of the
// path removed. https://h/a/hz gives https://h/.well-known/suffix/a/hz.
// It returns "" when issuer is not an absolute URL with a host.
func WellKnownURL(issuer, suffix string) string {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + "/.well-known/" + suffix + path
}
