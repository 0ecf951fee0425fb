package jws

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// fastClaims has a field of every kind the scan fills itself.
type fastClaims struct {
	Iat     int64        `json:"iat"`
	Nbf     *int64       `json:"nbf,omitempty"`
	Idx     int          `json:"idx"`
	On      bool         `json:"on"`
	Name    string       `json:"nm"`
	List    []string     `json:"list"`
	In      fastInner    `json:"in"`
	Ptr     *fastInner   `json:"ptr"`
	Many    []fastInner  `json:"many"`
	PtrList *[]string    `json:"pl"`
	Deep    **fastInner  `json:"deep"`
	Skip    string       `json:"-"`
	private string       //nolint:unused // unexported: ignored
	Default string       // no tag: matched by field name
	Nested  []*fastInner `json:"nested"`
}

type fastInner struct {
	X string `json:"x"`
	N int64  `json:"n"`
}

// slowClaims holds types the scan leaves to encoding/json.
type slowClaims struct {
	Any  any               `json:"any"`
	M    map[string]string `json:"m"`
	F    float64           `json:"f"`
	Raw  json.RawMessage   `json:"raw"`
	Str  int64             `json:"str,string"`
	Arr  [2]int            `json:"arr"`
	U    uint32            `json:"u"`
	Emb  embedded          `json:"emb"`
	Name string            `json:"nm"`
}

type embedded struct {
	fastInner
	Y string `json:"y"`
}

func TestShapesFast(t *testing.T) {
	for _, tc := range []struct {
		v    any
		fast bool
	}{
		{Header{}, true}, {fastClaims{}, true}, {fastInner{}, true}, {[]string{}, true},
		{slowClaims{}, false}, {embedded{}, false}, {map[string]any{}, false}, {[]any{}, false},
		{struct{ F float64 }{}, false}, {struct {
			A int `json:"a,string"`
		}{}, false},
	} {
		if got := shapeOf(reflect.TypeOf(tc.v)).fast; got != tc.fast {
			t.Errorf("%T: fast %v, want %v", tc.v, got, tc.fast)
		}
	}
}

// sameAsJSON checks DecodeStrict against what the code did before it
// filled values itself: the strict scan, then encoding/json.Unmarshal.
// Whenever that accepted data, DecodeStrict must accept it with the same
// value; whenever it refused, DecodeStrict must refuse.
func sameAsJSON[T any](t *testing.T, data []byte) {
	t.Helper()
	var got, want T
	err := DecodeStrict(data, &got)
	refErr := scan(data, shapeOf(reflect.TypeOf(want)), reflect.Value{})
	if refErr == nil {
		refErr = json.Unmarshal(data, &want)
	}
	switch {
	case (err == nil) != (refErr == nil):
		t.Fatalf("%T %q: DecodeStrict error %v, reference error %v", want, data, err, refErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%T %q: DecodeStrict %+v, encoding/json %+v", want, data, got, want)
	case err != nil && !errors.Is(err, ErrStrictJSON):
		t.Fatalf("%T %q: error %v does not wrap ErrStrictJSON", want, data, err)
	}
}

var decodeSeeds = []string{
	`{"iat":1,"nbf":2,"idx":-3,"on":true,"nm":"张\u4e09 <&>","list":["a","b"],"in":{"x":"y","n":9},"ptr":{"x":"p"},"many":[{"x":"1"},{}],"pl":["q"],"deep":{"n":1},"Default":"d","nested":[null,{"n":2}]}`,
	`{"nbf":null,"ptr":null,"list":null,"pl":null,"deep":null,"nested":null,"in":null,"iat":null,"nm":null,"on":null}`,
	`{"list":[],"many":[],"nested":[]}`,
	`{"list":[null,"a"]}`,
	`{"iat":1.5}`, `{"iat":1e3}`, `{"iat":-0}`, `{"iat":01}`, `{"iat":+1}`, `{"iat":9223372036854775808}`, `{"iat":-9223372036854775808}`,
	`{"iat":"1"}`, `{"nm":1}`, `{"on":"true"}`, `{"on":1}`, `{"list":"a"}`, `{"list":[1]}`, `{"in":[]}`, `{"in":"x"}`, `{"many":{}}`,
	`{"unknown":{"a":[1,2.5e-3,true,false,null,"x"]},"iat":2}`, `{"unknown":tru}`, `{"unknown":1.}`, `{"unknown":-}`, `{"unknown":.5}`, `{"unknown":1e}`,
	`{"Iat":1}`, `{"iat":1,"iat":2}`, `{"skip":"s","-":"t"}`, `{"private":"p"}`, `{"default":"d"}`,
	`null`, `[]`, `"x"`, `1`, `true`, `{}`, ` { "iat" : 7 } `, `{"iat":7}x`, `{"iat":7`, `{"nm":"\ud800"}`, `{"nm":"a\u0000b"}`,
	`{"alg":"EdDSA","typ":"kb+jwt","kid":"k","crit":["b64"],"jwk":{"kty":"OKP","crv":"Ed25519","x":"abc","y":"d"}}`,
	`{"alg":"EdDSA","jwk":null,"crit":null}`, `{"alg":"EdDSA","jwk":{"kty":1}}`,
	`{"any":{"a":1},"m":{"k":"v"},"f":1.5,"raw":[1],"str":"12","arr":[1,2],"u":7,"emb":{"x":"1","y":"2"},"nm":"n"}`,
}

func TestDecodeStrictMatchesJSON(t *testing.T) {
	for _, s := range decodeSeeds {
		sameAsJSON[fastClaims](t, []byte(s))
		sameAsJSON[Header](t, []byte(s))
		sameAsJSON[slowClaims](t, []byte(s))
		sameAsJSON[[]string](t, []byte(s))
	}
}

// FuzzDecodeStrictMatchesJSON: the values DecodeStrict fills during its
// scan are those encoding/json gives, and it refuses what the strict scan
// followed by encoding/json refused.
func FuzzDecodeStrictMatchesJSON(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsJSON[fastClaims](t, data)
		sameAsJSON[Header](t, data)
		sameAsJSON[slowClaims](t, data)
	})
}

func BenchmarkDecodeStrictHeader(b *testing.B) {
	data := []byte(`{"alg":"EdDSA","typ":"dc+sd-jwt","kid":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"}`)
	b.ReportAllocs()
	for b.Loop() {
		var h Header
		if err := DecodeStrict(data, &h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeStrictHeaderJSON(b *testing.B) {
	data := []byte(`{"alg":"EdDSA","typ":"dc+sd-jwt","kid":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"}`)
	sh := shapeOf(reflect.TypeOf(Header{}))
	b.ReportAllocs()
	for b.Loop() {
		var h Header
		if err := scan(data, sh, reflect.Value{}); err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(data, &h); err != nil {
			b.Fatal(err)
		}
	}
}
