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
	const final = `{"credential_configuration_id":"rp","proofs":{"jwt":["a.b.c"]}}`
	good := []struct{ name, in string }{
		{"1.0", final},
		{"draft proof", `{"credential_configuration_id":"rp","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`},
		{"format and vct beside the configuration are ignored", `{"format":"mso_mdoc","vct":"urn:other","credential_configuration_id":"rp","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`},
		{"unknown members are ignored", `{"credential_configuration_id":"rp","proofs":{"jwt":["a.b.c"]},"claims":[{"path":["nm"]}],"x-wallet":{"v":1}}`},
		{"unknown proof members are ignored", `{"credential_configuration_id":"rp","proof":{"proof_type":"jwt","jwt":"a.b.c","key_attestation":"x"}}`},
	}
	for _, tt := range good {
		r, err := ParseCredentialRequest([]byte(tt.in))
		if err != nil || r.Draft != Final || r.ConfigurationID != "rp" || len(r.Proofs) != 1 || r.Proofs[0] != "a.b.c" {
			t.Fatalf("%s: %+v %v", tt.name, r, err)
		}
		b, _ := json.Marshal(r)
		if string(b) != final {
			t.Fatalf("%s: MarshalJSON = %s", tt.name, b)
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
		{"draft proof case variant", `{` + cfg + `,"proof":{"Proof_Type":"jwt","jwt":"a"}}`, CodeInvalidProof},
		{"draft proof no jwt", `{` + cfg + `,"proof":{"proof_type":"jwt"}}`, CodeInvalidProof},
		{"draft proof not an object", `{` + cfg + `,"proof":"a.b.c"}`, CodeInvalidProof},
		{"draft proof null", `{` + cfg + `,"proof":null}`, CodeInvalidProof},
		{"missing configuration", `{"proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"empty configuration", `{"credential_configuration_id":"","proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"numeric configuration", `{"credential_configuration_id":1,"proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"response encryption", `{` + cfg + `,"proofs":{"jwt":["a"]},"credential_response_encryption":{"jwk":{},"enc":"A256GCM"}}`, CodeInvalidEncryptionParameters},
		{"response encryption null", `{` + cfg + `,"proofs":{"jwt":["a"]},"credential_response_encryption":null}`, CodeInvalidEncryptionParameters},
		{"credential_identifier", `{"credential_identifier":"x","proofs":{"jwt":["a"]}}`, CodeUnknownCredentialIdentifier},
		{"case variant member", `{"Credential_Configuration_Id":"rp","proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"case variant beside the member", `{` + cfg + `,"Proofs":{"jwt":["b"]},"proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"duplicate member", `{` + cfg + `,` + cfg + `,"proofs":{"jwt":["a"]}}`, CodeInvalidCredentialRequest},
		{"duplicate inside proofs", `{` + cfg + `,"proofs":{"jwt":["a"],"jwt":["b"]}}`, CodeInvalidCredentialRequest},
		{"draft 13 without vct", `{"format":"vc+sd-jwt","proof":{"proof_type":"jwt","jwt":"a"}}`, CodeInvalidCredentialRequest},
		{"draft 13 numeric vct", `{"format":"vc+sd-jwt","vct":1,"proof":{"proof_type":"jwt","jwt":"a"}}`, CodeInvalidCredentialRequest},
		{"draft 13 empty format", `{"format":"","vct":"v","proof":{"proof_type":"jwt","jwt":"a"}}`, CodeInvalidCredentialRequest},
		{"draft 13 without proof", `{"format":"vc+sd-jwt","vct":"v"}`, CodeInvalidProof},
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

// TestDraft13Request covers how a draft-13 request (format and vct, the
// single proof, no credential_configuration_id) is recognised and mapped
// to the configuration the metadata offers.
func TestDraft13Request(t *testing.T) {
	t.Parallel()
	m := NewIssuerMetadata("https://ep.example/hz", "https://ep.example/credential", "rp", credential.VCT, nil)
	m.CredentialConfigurationsSupported["other"] = CredentialConfiguration{Format: Format, VCT: "urn:other"}
	m.CredentialConfigurationsSupported["mdl"] = CredentialConfiguration{Format: "mso_mdoc"}
	tests := []struct {
		name, in string
		id, code string
	}{
		{"draft 13 (vc+sd-jwt, proof)", `{"format":"vc+sd-jwt","vct":"` + credential.VCT + `","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`, "rp", ""},
		{"draft 13 with the 1.0 format name", `{"format":"dc+sd-jwt","vct":"` + credential.VCT + `","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`, "rp", ""},
		{"draft 14 (format, proofs)", `{"format":"vc+sd-jwt","vct":"` + credential.VCT + `","proofs":{"jwt":["a.b.c"]}}`, "rp", ""},
		{"draft 13 with claims", `{"format":"vc+sd-jwt","vct":"` + credential.VCT + `","claims":{"nm":{}},"proof":{"proof_type":"jwt","jwt":"a.b.c"}}`, "rp", ""},
		{"another vct of the format", `{"format":"vc+sd-jwt","vct":"urn:other","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`, "other", ""},
		{"unknown vct", `{"format":"vc+sd-jwt","vct":"urn:nope","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`, "", CodeUnsupportedCredentialType},
		{"unknown format", `{"format":"jwt_vc_json","credential_definition":{"type":["VerifiableCredential"]},"proof":{"proof_type":"jwt","jwt":"a.b.c"}}`, "", CodeUnsupportedCredentialFormat},
		{"1.0 configuration", `{"credential_configuration_id":"rp","proofs":{"jwt":["a.b.c"]}}`, "rp", ""},
		{"1.0 unknown configuration", `{"credential_configuration_id":"nope","proofs":{"jwt":["a.b.c"]}}`, "", CodeUnknownCredentialConfiguration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseCredentialRequest([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			wantDraft := Draft13
			if strings.Contains(tt.in, "credential_configuration_id") {
				wantDraft = Final
			}
			if r.Draft != wantDraft || len(r.Proofs) != 1 || r.Proofs[0] != "a.b.c" {
				t.Fatalf("%+v", r)
			}
			id, err := m.Configuration(r)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil || id != tt.id {
				t.Fatalf("configuration %q %v, want %q", id, err, tt.id)
			}
			// The request encodes back into its own draft's form.
			b, _ := json.Marshal(r)
			back, err := ParseCredentialRequest(b)
			if err != nil || back.Draft != r.Draft || back.Format != r.Format || back.VCT != r.VCT || back.ConfigurationID != r.ConfigurationID {
				t.Fatalf("round trip of %s: %+v %v", b, back, err)
			}
		})
	}
	b, _ := json.Marshal(Draft13CredentialResponse{Credential: "eyJ.x.y~"})
	if string(b) != `{"credential":"eyJ.x.y~"}` {
		t.Fatal(string(b))
	}
}

func FuzzParseCredentialRequest(f *testing.F) {
	f.Add([]byte(`{"credential_configuration_id":"rp","proofs":{"jwt":["a.b.c"]}}`))
	f.Add([]byte(`{"credential_configuration_id":"rp","proof":{"proof_type":"jwt","jwt":"a.b.c"},"format":"dc+sd-jwt"}`))
	f.Add([]byte(`{"format":"vc+sd-jwt","vct":"urn:epermit:rp:1","proof":{"proof_type":"jwt","jwt":"a.b.c"}}`))
	m := NewIssuerMetadata("https://ep.example/hz", "https://ep.example/credential", "rp", credential.VCT, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseCredentialRequest(data)
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("error without code: %v", err)
			}
			return
		}
		if len(r.Proofs) != 1 || r.Proofs[0] == "" {
			t.Fatalf("accepted %+v", r)
		}
		switch r.Draft {
		case Final:
			if r.ConfigurationID == "" {
				t.Fatalf("accepted %+v", r)
			}
		case Draft13:
			if r.ConfigurationID != "" || r.Format == "" {
				t.Fatalf("accepted %+v", r)
			}
		default:
			t.Fatalf("draft %d", r.Draft)
		}
		if id, err := m.Configuration(r); (err == nil) != (id == "rp") || (err != nil && CodeOf(err) == "") {
			t.Fatalf("configuration %q %v", id, err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseCredentialRequest(b)
		if err != nil || back.Draft != r.Draft || back.ConfigurationID != r.ConfigurationID || back.Format != r.Format || back.VCT != r.VCT || back.Proofs[0] != r.Proofs[0] {
			t.Fatalf("round trip of %s: %+v %v", b, back, err)
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
		`"proof_types_supported":{"jwt":{"proof_signing_alg_values_supported":["EdDSA","Ed25519","ES256"]}}}}}`
	if string(b) != want {
		t.Fatalf("issuer metadata\n%s\nwant\n%s", b, want)
	}
	// The proof algorithms are the metadata's own: changing them does not
	// change ProofAlgs.
	m.CredentialConfigurationsSupported["epermit_rp"].ProofTypesSupported["jwt"].ProofSigningAlgValuesSupported[0] = "x"
	if ProofAlgs[0] != jws.AlgEdDSA {
		t.Fatal("metadata shares ProofAlgs")
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
