package oid4vci

import (
	"encoding/json"
	"errors"
	"flag"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

var goldenOffer = Offer{
	CredentialIssuer:  "https://epermit.example.gov.cn/zj/hz",
	ConfigurationIDs:  []string{"epermit_rp_sdjwt"},
	PreAuthorizedCode: "c0de-ABC_123",
}

func TestOfferGolden(t *testing.T) {
	t.Parallel()
	got := goldenOffer.URI()
	if *update {
		if err := os.WriteFile("testdata/offer_golden.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/offer_golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("URI() =\n%s\nwant\n%s", got, want)
	}
	// The JSON inside is the spec's credential offer object, member by member.
	u, _ := url.Parse(got)
	var m map[string]any
	if err := json.Unmarshal([]byte(u.Query().Get("credential_offer")), &m); err != nil {
		t.Fatal(err)
	}
	wantJSON := map[string]any{
		"credential_issuer":            "https://epermit.example.gov.cn/zj/hz",
		"credential_configuration_ids": []any{"epermit_rp_sdjwt"},
		"grants": map[string]any{
			"urn:ietf:params:oauth:grant-type:pre-authorized_code": map[string]any{"pre-authorized_code": "c0de-ABC_123"},
		},
	}
	if !reflect.DeepEqual(m, wantJSON) {
		t.Fatalf("offer JSON = %v", m)
	}
	if !strings.HasPrefix(got, "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22") {
		t.Fatalf("URI prefix: %s", got)
	}
}

func TestOfferRoundTrip(t *testing.T) {
	t.Parallel()
	offers := []Offer{
		goldenOffer,
		{CredentialIssuer: "http://localhost:8080", ConfigurationIDs: []string{"a", "b"}, PreAuthorizedCode: "x y+z&=%",
			TxCode: &TxCode{InputMode: "numeric", Length: 6, Description: "短信验证码 <&>"}},
		{CredentialIssuer: "https://h", ConfigurationIDs: []string{"a"}, PreAuthorizedCode: "c", TxCode: &TxCode{}},
	}
	for _, o := range offers {
		for _, prefix := range []string{"", "https://wallet.example/offer"} {
			s := o.URI()
			if prefix != "" {
				s = prefix + strings.TrimPrefix(s, OfferScheme)
			}
			got, err := ParseOfferURI(s)
			if err != nil {
				t.Fatalf("ParseOfferURI(%s): %v", s, err)
			}
			if !reflect.DeepEqual(got, o) {
				t.Fatalf("round trip: got %+v want %+v", got, o)
			}
		}
	}
}

func TestParseSpecOffers(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/spec_offer_pre-authz_code.json")
	if err != nil {
		t.Fatal(err)
	}
	o, err := ParseOffer(b)
	if err != nil {
		t.Fatal(err)
	}
	if o.CredentialIssuer != "https://credential-issuer.example.com" || o.PreAuthorizedCode != "adhjhdjajkdkhjhdj" ||
		len(o.ConfigurationIDs) != 1 || o.ConfigurationIDs[0] != "UniversityDegreeCredential" || o.TxCode == nil ||
		!strings.HasPrefix(o.TxCode.Description, "Please provide") {
		t.Fatalf("spec offer = %+v", o)
	}
	u, err := os.ReadFile("testdata/spec_offer_uri.txt")
	if err != nil {
		t.Fatal(err)
	}
	o, err = ParseOfferURI(string(u))
	if err != nil {
		t.Fatal(err)
	}
	if o.PreAuthorizedCode != "oaKazRN8I0IbtZ0C7JuMn5" || o.TxCode == nil || o.TxCode.InputMode != "text" ||
		o.ConfigurationIDs[0] != "org.iso.18013.5.1.mDL" {
		t.Fatalf("spec offer URI = %+v", o)
	}
}

func offerURI(json string) string {
	return OfferScheme + "?credential_offer=" + url.QueryEscape(json)
}

func TestParseOfferURIRefuses(t *testing.T) {
	t.Parallel()
	const pre = `"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"c"}}`
	ok := `{"credential_issuer":"https://h/p","credential_configuration_ids":["x"],` + pre + `}`
	if _, err := ParseOfferURI(offerURI(ok)); err != nil {
		t.Fatalf("control: %v", err)
	}
	tests := []struct {
		name, in string
		byRef    bool
	}{
		{"by reference", OfferScheme + "?credential_offer_uri=" + url.QueryEscape("https://h/offer/1"), true},
		{"both", offerURI(ok) + "&credential_offer_uri=https%3A%2F%2Fh", true},
		{"oversized", offerURI(ok) + "&pad=" + strings.Repeat("a", MaxOfferURI), false},
		{"no parameter", OfferScheme + "?x=1", false},
		{"twice", offerURI(ok) + "&credential_offer=" + url.QueryEscape(ok), false},
		{"not a URI", "credential_offer=" + url.QueryEscape(ok), false},
		{"bad escape", OfferScheme + "?credential_offer=%7", false},
		{"not JSON", offerURI("hello"), false},
		{"missing code", offerURI(strings.Replace(ok, `"pre-authorized_code":"c"`, `"tx_code":{}`, 1)), false},
		{"empty code", offerURI(strings.Replace(ok, `"pre-authorized_code":"c"`, `"pre-authorized_code":""`, 1)), false},
		{"numeric code", offerURI(strings.Replace(ok, `"pre-authorized_code":"c"`, `"pre-authorized_code":1`, 1)), false},
		{"unknown grant only", offerURI(`{"credential_issuer":"https://h","credential_configuration_ids":["x"],"grants":{"authorization_code":{"issuer_state":"s"}}}`), false},
		{"no grants", offerURI(`{"credential_issuer":"https://h","credential_configuration_ids":["x"]}`), false},
		{"ftp issuer", offerURI(strings.Replace(ok, "https://h/p", "ftp://h/p", 1)), false},
		{"javascript issuer", offerURI(strings.Replace(ok, "https://h/p", "javascript:alert(1)", 1)), false},
		{"relative issuer", offerURI(strings.Replace(ok, "https://h/p", "/p", 1)), false},
		{"issuer with query", offerURI(strings.Replace(ok, "https://h/p", "https://h/p?a=1", 1)), false},
		{"issuer with fragment", offerURI(strings.Replace(ok, "https://h/p", "https://h/p#f", 1)), false},
		{"issuer with user", offerURI(strings.Replace(ok, "https://h/p", "https://u@h/p", 1)), false},
		{"no configuration", offerURI(strings.Replace(ok, `["x"]`, `[]`, 1)), false},
		{"repeated configuration", offerURI(strings.Replace(ok, `["x"]`, `["x","x"]`, 1)), false},
		{"empty configuration", offerURI(strings.Replace(ok, `["x"]`, `[""]`, 1)), false},
		{"duplicate member", offerURI(strings.Replace(ok, `{"credential_issuer":"https://h/p"`, `{"credential_issuer":"https://h/p","credential_issuer":"https://evil"`, 1)), false},
		{"case variant member", offerURI(strings.Replace(ok, `"credential_issuer"`, `"Credential_Issuer"`, 1)), false},
		{"bad input mode", offerURI(strings.Replace(ok, `"pre-authorized_code":"c"`, `"pre-authorized_code":"c","tx_code":{"input_mode":"voice"}`, 1)), false},
		{"trailing data", offerURI(ok + "x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseOfferURI(tt.in)
			if !errors.Is(err, ErrInvalidOffer) {
				t.Fatalf("ParseOfferURI = %v, want ErrInvalidOffer", err)
			}
			if tt.byRef != errors.Is(err, ErrOfferByReference) {
				t.Fatalf("by reference = %v: %v", !tt.byRef, err)
			}
		})
	}
}

func FuzzParseOfferURI(f *testing.F) {
	f.Add(goldenOffer.URI())
	b, _ := os.ReadFile("testdata/spec_offer_uri.txt")
	f.Add(string(b))
	f.Add(OfferScheme + "?credential_offer_uri=x")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOfferURI(s)
		if err != nil {
			return
		}
		// What parses must survive a round trip unchanged.
		o2, err := ParseOfferURI(o.URI())
		if err != nil || !reflect.DeepEqual(o, o2) {
			t.Fatalf("round trip of %+v: %+v, %v", o, o2, err)
		}
	})
}
