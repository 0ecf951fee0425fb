//go:build !js

package wallet_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/epermit/epermit/oid4vci"
	"github.com/epermit/epermit/wallet"
)

// TestAcceptUsesNonceEndpoint: when the issuer's metadata names a nonce
// endpoint (OpenID4VCI 1.0), the proof is over a nonce from there, not over
// the token response's c_nonce; a failing nonce endpoint stops the flow
// before the credential request.
func TestAcceptUsesNonceEndpoint(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		answer  func(http.ResponseWriter)
		wantErr string
	}{
		{name: "nonce from the endpoint", answer: func(rw http.ResponseWriter) {
			rw.Header().Set("Cache-Control", "no-store")
			writeJSON(rw, http.StatusOK, oid4vci.NonceResponse{CNonce: acceptNonce})
		}},
		{name: "endpoint fails", answer: func(rw http.ResponseWriter) { http.Error(rw, "down", http.StatusServiceUnavailable) }, wantErr: "nonce"},
		{name: "answer without c_nonce", answer: func(rw http.ResponseWriter) { writeJSON(rw, http.StatusOK, map[string]int{"c_nonce_expires_in": 5}) }, wantErr: "c_nonce is missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIssuer(t, "/hz")
			f.editMeta = func(m *oid4vci.IssuerMetadata) { m.NonceEndpoint = f.iss + "/nonce" }
			// The token response's nonce is not the one the fake credential
			// endpoint accepts: only the nonce endpoint's is.
			f.override[stepToken] = func(rw http.ResponseWriter, _ *http.Request) {
				writeJSON(rw, http.StatusOK, oid4vci.TokenResponse{AccessToken: acceptToken, TokenType: "Bearer", CNonce: "token-nonce"})
			}
			f.override[""] = func(rw http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/hz/nonce" || r.Header.Get("Authorization") != "" {
					http.NotFound(rw, r)
					return
				}
				tt.answer(rw)
			}
			w := newAcceptWallet(t)
			client, _ := f.client()
			_, err := w.Accept(context.Background(), f.offer(), client, acceptNow, wallet.AnyIssuer())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Accept: %v, want an error about %q", err, tt.wantErr)
				}
				if slices.Contains(f.seenPaths(), "POST /hz/credential") {
					t.Fatal("the credential was requested without a nonce")
				}
				assertNothingStored(t, w)
				return
			}
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			want := []string{
				"GET /.well-known/openid-credential-issuer/hz",
				"GET /.well-known/oauth-authorization-server/hz",
				"GET /.well-known/jwt-vc-issuer/hz",
				"POST /hz/token",
				"POST /hz/nonce",
				"POST /hz/credential",
			}
			if p := f.seenPaths(); !slices.Equal(p, want) {
				t.Errorf("fake saw %q, want %q", p, want)
			}
		})
	}
}
