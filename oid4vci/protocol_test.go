package oid4vci

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/jws"
)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if e.Code != code {
		t.Fatalf("code %q (%v), want %q", e.Code, err, code)
	}
}

func TestParseTokenRequest(t *testing.T) {
	t.Parallel()
	good := url.Values{"grant_type": {GrantPreAuthorized}, "pre-authorized_code": {"abc"}, "tx_code": {"493536"}, "client_id": {"w"}}
	r, err := ParseTokenRequest(good)
	if err != nil || r.PreAuthorizedCode != "abc" || r.TxCode != "493536" || r.GrantType != GrantPreAuthorized {
		t.Fatalf("%+v %v", r, err)
	}
	back, err := ParseTokenRequest(r.Form())
	if err != nil || back != r {
		t.Fatalf("Form round trip %+v %v", back, err)
	}
	with := func(k string, v ...string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		if v == nil {
			delete(f, k)
		} else {
			f[k] = v
		}
		return f
	}
	tests := []struct {
		name string
		form url.Values
		code string
	}{
		{"authorization_code grant", with("grant_type", "authorization_code"), CodeUnsupportedGrantType},
		{"refresh grant", with("grant_type", "refresh_token"), CodeUnsupportedGrantType},
		{"missing grant", with("grant_type"), CodeInvalidRequest},
		{"repeated grant", with("grant_type", GrantPreAuthorized, GrantPreAuthorized), CodeInvalidRequest},
		{"missing code", with("pre-authorized_code"), CodeInvalidRequest},
		{"empty code", with("pre-authorized_code", ""), CodeInvalidRequest},
		{"repeated code", with("pre-authorized_code", "a", "b"), CodeInvalidRequest},
		{"huge code", with("pre-authorized_code", strings.Repeat("a", 513)), CodeInvalidRequest},
		{"empty tx_code", with("tx_code", ""), CodeInvalidRequest},
		{"repeated tx_code", with("tx_code", "1", "2"), CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseTokenRequest(tt.form)
			wantCode(t, err, tt.code)
		})
	}
	if r, err := ParseTokenRequest(with("tx_code")); err != nil || r.TxCode != "" {
		t.Fatalf("without tx_code: %+v %v", r, err)
	}
}

func TestTokenResponseJSON(t *testing.T) {
	t.Parallel()
	b, _ := json.Marshal(TokenResponse{AccessToken: "at", TokenType: "Bearer", ExpiresIn: 300, CNonce: "n", CNonceExpiresIn: 60})
	if string(b) != `{"access_token":"at","token_type":"Bearer","expires_in":300,"c_nonce":"n","c_nonce_expires_in":60}` {
		t.Fatal(string(b))
	}
	b, _ = json.Marshal(TokenResponse{AccessToken: "at", TokenType: "Bearer", ExpiresIn: 300})
	if string(b) != `{"access_token":"at","token_type":"Bearer","expires_in":300}` {
		t.Fatal(string(b))
	}
	r, err := ParseTokenResponse([]byte(`{"access_token":"at","token_type":"Bearer","expires_in":86400,"authorization_details":[]}`))
	if err != nil || r.AccessToken != "at" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, in := range []string{`{"token_type":"Bearer"}`, `{"access_token":"a","token_type":"DPoP"}`, `{"access_token":"a","access_token":"b","token_type":"Bearer"}`} {
		if _, err := ParseTokenResponse([]byte(in)); err == nil {
			t.Errorf("accepted %s", in)
		}
	}
}

func TestParseCredentialRequest(t *testing.T) {
	t.Parallel()
	good := []struct{ name, in string }{
		{"1.0", `{"credential_configuration_id":"rp","proofs":{"jwt":["a.b.c"]}}`},
		{"draft proof", `{"credential_configuration_id":"rp","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`},
		{"draft 13 format and vct", `{"format":"dc+sd-jwt","vct":"` + credential.VCT + `","credential_configuration_id":"rp","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`},
	}
	for _, tt := range good {
		r, err := ParseCredentialRequest([]byte(tt.in))
		if err != nil || r.ConfigurationID != "rp" || len(r.Proofs) != 1 || r.Proofs[0] != "a.b.c" {
			t.Fatalf("%s: %+v %v", tt.name, r, err)
		}
		b, _ := json.Marshal(r)
		if string(b) != good[0].in {
			t.Fatalf("MarshalJSON = %s", b)
		}
	}
	const cfg = `"credential_configuration_id":"rp"`
	tests := []struct {
		name, in, code string
	}{
		{"empty proofs array", `{` + cfg + `,"proofs":{"jwt":[]}}`, CodeInvalidProof},
		{"no proofs", `{` + cfg + `}`, CodeInvalidProof},
		{"null proofs", `{` + cfg + `,"proofs":null}`, CodeInvalidProof},
		{"empty proofs object", `{` + cfg + `,"proofs":{}}`, CodeInvalidProof},
		{"two proof types", `{` + cfg + `,"proofs":{"jwt":["a"],"attestation":["b"]}}`, CodeInvalidProof},
		{"di_vp", `{` + cfg + `,"proofs":{"di_vp":[{}]}}`, CodeInvalidProof},
		{"jwt not array", `{` + cfg + `,"proofs":{"jwt":"a"}}`, CodeInvalidProof},
		{"jwt array of numbers", `{` + cfg + `,"proofs":{"jwt":[1]}}`, CodeInvalidProof},
		{"empty jwt", `{` + cfg + `,"proofs":{"jwt":[""]}}`, CodeInvalidProof},
		{"two proofs", `{` + cfg + `,"proofs":{"jwt":["a","b"]}}`, CodeInvalidCredentialRequest},
		{"proof and proofs", `{` + cfg + `,"proofs":{"jwt":["a"]},"proof":{"proof_type":"jwt","jwt":"a"}}`, CodeInvalidCredentialRequest},
		{"draft proof type cwt", `{` + cfg + `,"proof":{"proof_type":"cwt","cwt":"a"}}`, CodeInvalidProof},
		{"draft proof no type", `{` + cfg + `,"proof":{"jwt":"a"}}`, CodeInvalidProof},
		{"draft proof extra", `{` + cfg + `,"proof":{"proof_type":"jwt","jwt":"a","key_attestation":"x"}}`, CodeInvalidProof},
		{"draft proof no jwt", `{` + cfg + `,"proof":{"proof_type":"jwt"}}`, CodeInvalidProof},
		{"missing configuration", `{"proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"numeric configuration", `{"credential_configuration_id":1,"proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"unknown member", `{` + cfg + `,"proofs":{"jwt":["a"]},"credential_response_encryption":{}}`, CodeInvalidCredentialRequest},
		{"credential_identifier", `{"credential_identifier":"x","proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"case variant member", `{"Credential_Configuration_Id":"rp","proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"duplicate member", `{` + cfg + `,` + cfg + `,"proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"duplicate inside proofs", `{` + cfg + `,"proofs":{"jwt":["a"],"jwt":["b"]}}`, CodeInvalidCredentialRequest},
		{"other format", `{"format":"mso_mdoc",` + cfg + `,"proofs":{"jwt":["a"]}}`, CodeUnknownCredentialConfiguration},
		{"old format name", `{"format":"vc+sd-jwt",` + cfg + `,"proofs":{"jwt":["a"]}}`, CodeUnknownCredentialConfiguration},
		{"other vct", `{"vct":"urn:other",` + cfg + `,"proofs":{"jwt":["a"]}}`, CodeUnknownCredentialConfiguration},
		{"array body", `[]`, CodeInvalidCredentialRequest},
		{"null body", `null`, CodeInvalidCredentialRequest},
		{"not JSON", `proofs=a`, CodeInvalidCredentialRequest},
		{"oversized", `{` + cfg + `,"proofs":{"jwt":["` + strings.Repeat("a", MaxCredentialRequest) + `"]}}`, CodeInvalidCredentialRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseCredentialRequest([]byte(tt.in))
			wantCode(t, err, tt.code)
		})
	}
}

func FuzzParseCredentialRequest(f *testing.F) {
	f.Add([]byte(`{"credential_configuration_id":"rp","proofs":{"jwt":["a.b.c"]}}`))
	f.Add([]byte(`{"credential_configuration_id":"rp","proof":{"proof_type":"jwt","jwt":"a.b.c"},"format":"dc+sd-jwt"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseCredentialRequest(data)
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("error without code: %v", err)
			}
			return
		}
		if r.ConfigurationID == "" || len(r.Proofs) != 1 || r.Proofs[0] == "" {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func TestCredentialResponse(t *testing.T) {
	t.Parallel()
	b, _ := json.Marshal(CredentialResponse{Credentials: []IssuedCredential{{Credential: "eyJ.x.y~"}}})
	if string(b) != `{"credentials":[{"credential":"eyJ.x.y~"}]}` {
		t.Fatal(string(b))
	}
	r, err := ParseCredentialResponse([]byte(`{"credentials":[{"credential":"eyJ.x.y~"}],"notification_id":"n"}`))
	if err != nil || r.Credentials[0].Credential != "eyJ.x.y~" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, in := range []string{`{"transaction_id":"t","interval":5}`, `{"credentials":[]}`, `{"credentials":[{"credential":""}]}`, `{"credentials":[{"credential":{}}]}`} {
		if _, err := ParseCredentialResponse([]byte(in)); err == nil {
			t.Errorf("accepted %s", in)
		}
	}
}

func TestErrorJSON(t *testing.T) {
	t.Parallel()
	err := error(newError(CodeInvalidProof, `typ "x\y" 居住证`+"\n", jws.ErrType))
	wrapped := errors.Join(errors.New("ctx"), err)
	var e *Error
	if !errors.As(wrapped, &e) || !errors.Is(err, jws.ErrType) {
		t.Fatal("errors.As/Is")
	}
	b, _ := json.Marshal(e)
	if string(b) != `{"error":"invalid_proof","error_description":"typ 'x/y' ????"}` {
		t.Fatal(string(b))
	}
	b, _ = json.Marshal(&Error{Code: CodeInvalidGrant})
	if string(b) != `{"error":"invalid_grant"}` {
		t.Fatal(string(b))
	}
	if CodeOf(errors.New("x")) != "" || CodeOf(wrapped) != CodeInvalidProof {
		t.Fatal("CodeOf")
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	m := NewIssuerMetadata("https://ep.example/zj/hz", "https://ep.example/zj/hz/credential", "epermit_rp", credential.VCT,
		map[string]string{"zh-CN": "杭州市公安局", "en": "Hangzhou Public Security Bureau"})
	m.NonceEndpoint = "https://ep.example/zj/hz/nonce"
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"credential_issuer":"https://ep.example/zj/hz","credential_endpoint":"https://ep.example/zj/hz/credential",` +
		`"nonce_endpoint":"https://ep.example/zj/hz/nonce","display":[{"name":"Hangzhou Public Security Bureau","locale":"en"},{"name":"杭州市公安局","locale":"zh-CN"}],` +
		`"credential_configurations_supported":{"epermit_rp":{"format":"dc+sd-jwt","vct":"urn:epermit:rp:1","scope":"epermit_rp",` +
		`"cryptographic_binding_methods_supported":["jwk"],"credential_signing_alg_values_supported":["EdDSA"],` +
		`"proof_types_supported":{"jwt":{"proof_signing_alg_values_supported":["EdDSA"]}}}}}`
	if string(b) != want {
		t.Fatalf("issuer metadata\n%s\nwant\n%s", b, want)
	}
	a, _ := json.Marshal(NewAuthServerMetadata("https://ep.example/zj/hz", "https://ep.example/zj/hz/token"))
	if string(a) != `{"issuer":"https://ep.example/zj/hz","token_endpoint":"https://ep.example/zj/hz/token","grant_types_supported":["urn:ietf:params:oauth:grant-type:pre-authorized_code"],"pre-authorized_grant_anonymous_access_supported":true}` {
		t.Fatal(string(a))
	}
}

func TestWellKnownURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ issuer, suffix, want string }{
		{"https://h/a/hz", WellKnownIssuer, "https://h/.well-known/openid-credential-issuer/a/hz"},
		{"https://issuer.example.com/tenant", WellKnownIssuer, "https://issuer.example.com/.well-known/openid-credential-issuer/tenant"},
		{"https://tenant.issuer.example.com", WellKnownIssuer, "https://tenant.issuer.example.com/.well-known/openid-credential-issuer"},
		{"https://h/", WellKnownAuthServer, "https://h/.well-known/oauth-authorization-server"},
		{"https://h/a/hz/", WellKnownAuthServer, "https://h/.well-known/oauth-authorization-server/a/hz"},
		{"http://localhost:8080/x", WellKnownIssuer, "http://localhost:8080/.well-known/openid-credential-issuer/x"},
		{"https://h/%E6%9D%AD", WellKnownIssuer, "https://h/.well-known/openid-credential-issuer/%E6%9D%AD"},
		{"/relative", WellKnownIssuer, ""},
		{"::", WellKnownIssuer, ""},
	}
	for _, tt := range tests {
		if got := WellKnownURL(tt.issuer, tt.suffix); got != tt.want {
			t.Errorf("WellKnownURL(%q) = %q, want %q", tt.issuer, got, tt.want)
		}
	}
}
