package jws

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
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

// genericClaims has a field of every other kind the scan fills: numbers of
// every size, empty interfaces, maps with string keys, raw JSON.
type genericClaims struct {
	Any   any                        `json:"any"`
	M     map[string]string          `json:"m"`
	MA    map[string]any             `json:"ma"`
	MP    map[string]*fastInner      `json:"mp"`
	F     float64                    `json:"f"`
	F32   float32                    `json:"f32"`
	U     uint32                     `json:"u"`
	U8    uint8                      `json:"u8"`
	I8    int8                       `json:"i8"`
	Raw   json.RawMessage            `json:"raw"`
	PRaw  *json.RawMessage           `json:"praw"`
	List  []any                      `json:"list"`
	Named map[namedKey]namedString   `json:"named"`
	Deep  map[string]map[string]bool `json:"deep"`
	Name  string                     `json:"nm"`
}

type namedKey string
type namedString string

// slowClaims holds types the scan leaves to encoding/json.
type slowClaims struct {
	Any   any             `json:"any"`
	Str   int64           `json:"str,string"`
	Arr   [2]int          `json:"arr"`
	Bytes []byte          `json:"bytes"`
	Num   json.Number     `json:"num"`
	Text  textValue       `json:"text"`
	Emb   embedded        `json:"emb"`
	Raw   json.RawMessage `json:"raw"`
	Name  string          `json:"nm"`
}

// textValue decodes itself from a JSON string (encoding.TextUnmarshaler).
type textValue struct{ s string }

func (v *textValue) UnmarshalText(b []byte) error { v.s = "text:" + string(b); return nil }

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
		{genericClaims{}, true}, {map[string]any{}, true}, {[]any{}, true}, {struct{ F float64 }{}, true},
		{json.RawMessage{}, true}, {map[string]json.RawMessage{}, true},
		{slowClaims{}, false}, {embedded{}, false}, {[]byte{}, false}, {[2]string{}, false},
		{map[int]string{}, false}, {textValue{}, false}, {json.Number(""), false},
		{struct {
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
	refErr := scan(data, shapeOf(reflect.TypeFor[T]()), reflect.Value{})
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
	`{"any":[1,"2",{"3":[true,null]}],"m":{"k":"v","l":null},"ma":{"a":{"b":[1e2]}},"mp":{"p":{"x":"1"},"q":null},"f":-1.5e-3,"f32":3.4e39,"u":4294967296,"u8":255,"i8":-129,"raw":  {"a" : [1, 2]} ,"praw":null,"list":[],"named":{"k":"v"},"deep":{"a":{"b":true}},"nm":"x"}`,
	`{"any":null,"m":null,"ma":{},"f":"1","u":-1,"u8":256,"i8":127,"raw":null,"praw":"s","list":null}`,
	`{"any":1e400}`, `{"f":1e309}`, `{"f32":1e38}`, `{"ma":{"a":1,"A":2}}`, `{"m":{"k":1}}`, `{"mp":{"k":{"X":1}}}`,
	`{"bytes":"YWJj","num":12.5,"text":"t","arr":[1,2,3]}`, `{"bytes":[1,2],"num":"x"}`,
	`{"any":{"k\u0041":1,"kA":2}}`, `{"m":{"\u00e9":"a","\u00c9":"b"}}`, `{"a\u0000":1}`,
	`{"k":1,"K":2}`, `{"\u212a":1,"k":2}`, `{"ſ":1,"S":2}`,
}

func TestDecodeStrictMatchesJSON(t *testing.T) {
	for _, s := range decodeSeeds {
		sameAsJSON[fastClaims](t, []byte(s))
		sameAsJSON[Header](t, []byte(s))
		sameAsJSON[genericClaims](t, []byte(s))
		sameAsJSON[slowClaims](t, []byte(s))
		sameAsJSON[[]string](t, []byte(s))
		sameAsJSON[any](t, []byte(s))
		sameAsJSON[[]any](t, []byte(s))
		sameAsJSON[map[string]json.RawMessage](t, []byte(s))
	}
}

// TestDecodeStrictManyMembers: an object of many members is checked for
// duplicates (case-folded) as a small one is, without pairwise comparison.
func TestDecodeStrictManyMembers(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{`)
	for i := range 5000 {
		fmt.Fprintf(&b, `"m%d":%d,`, i, i)
	}
	many := b.String()
	for _, tc := range []struct {
		last string
		ok   bool
	}{
		{`"alg":"EdDSA"}`, true}, {`"M17":1}`, false}, {`"m4999":1}`, false}, {`"\u212a":1,"k":2}`, false},
		{`"ſ":1,"S":2}`, false}, {`"x":1,"X":2}`, false}, {`"ÿ":1,"Ÿ":2}`, false}, {`"é":1,"e":2}`, true},
	} {
		var h Header
		err := DecodeStrict([]byte(many+tc.last), &h)
		if (err == nil) != tc.ok {
			t.Errorf("...%s: error %v, want ok %v", tc.last, err, tc.ok)
		}
		if tc.ok && h.Alg != "EdDSA" && tc.last[1] == 'a' {
			t.Errorf("alg %q", h.Alg)
		}
	}
}

// TestFoldKey: two names fold to the same key exactly when strings.EqualFold
// says they are equal.
func TestFoldKey(t *testing.T) {
	names := []string{"k", "K", "\u212a", "s", "S", "ſ", "é", "É", "e", "ǅ", "ǆ", "Ǆ", "ß", "ẞ", "ss", "σ", "ς", "Σ", "µ", "μ", "Μ", "a\xff", "a\xfe", ""}
	for i := range names {
		names[i], _ = strconv.Unquote(`"` + names[i] + `"`)
	}
	for _, a := range names {
		for _, b := range names {
			if got, want := foldKey([]byte(a)) == foldKey([]byte(b)), strings.EqualFold(a, b); got != want {
				t.Errorf("foldKey(%q) == foldKey(%q): %v, EqualFold %v", a, b, got, want)
			}
		}
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
		sameAsJSON[genericClaims](t, data)
		sameAsJSON[slowClaims](t, data)
		sameAsJSON[any](t, data)
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

// sameAsRoundTrip checks DecodeValue against the way it replaces: write x as
// JSON, decode that strictly.
func sameAsRoundTrip[T any](t *testing.T, x any) {
	t.Helper()
	var got, want T
	err := DecodeValue(x, &got)
	b, refErr := Marshal(x)
	if refErr == nil {
		refErr = DecodeStrict(b, &want)
	}
	switch {
	case (err == nil) != (refErr == nil):
		t.Fatalf("%T from %#v: DecodeValue error %v, round trip error %v", want, x, err, refErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%T from %#v: DecodeValue %+v, round trip %+v", want, x, got, want)
	case err != nil && !errors.Is(err, ErrStrictJSON):
		t.Fatalf("%T from %#v: error %v does not wrap ErrStrictJSON", want, x, err)
	}
}

// valueFromJSON decodes data as an array and returns its first element,
// with the members of its second merged in when both are objects (as
// resolving a nested disclosure adds members to an object): names equal
// but for case, and deeper nesting than the JSON had, can come of it.
func valueFromJSON(data []byte) (any, bool) {
	var arr []any
	if err := DecodeStrict(data, &arr); err != nil || len(arr) == 0 {
		return nil, false
	}
	x := arr[0]
	if len(arr) > 1 {
		m, ok1 := x.(map[string]any)
		add, ok2 := arr[1].(map[string]any)
		if ok1 && ok2 {
			for k, v := range add {
				if _, taken := m[k]; !taken {
					m[k] = v
				}
			}
		}
	}
	return x, true
}

var valueSeeds = []string{
	`[{"iat":1,"nbf":2,"idx":-3,"on":true,"nm":"张三 <&>","list":["a","b"],"in":{"x":"y","n":9},"ptr":{"x":"p"},"many":[{"x":"1"},{}],"pl":["q"],"deep":{"n":1},"Default":"d","nested":[null,{"n":2}]}]`,
	`[{"alg":"EdDSA","typ":"kb+jwt","kid":"k","crit":["b64"],"jwk":{"kty":"OKP","crv":"Ed25519","x":"abc"}}]`,
	`[{"iat":1.5,"nm":1}]`, `[{"iat":1e3}]`, `[{"iat":-0}]`, `[{"iat":1e21}]`, `[{"iat":9.2e18}]`,
	`[{"x":1},{"X":2}]`, `[{"in":{"x":"1"}},{"IN":{}}]`, `[{"a":{"b":1}},{"a":2,"A":{"k":1,"K":2}}]`,
	`[{"any":[1,"2",{"3":[true,null]}],"m":{"k":"v"},"ma":{"a":{"b":[1e2]}},"mp":{"p":{"x":"1"},"q":null},"f":-1.5e-3,"f32":3.4e39,"u":42,"raw":{"a":[1,"\u2028"]},"list":[],"named":{"k":"v"},"deep":{"a":{"b":true}}}]`,
	`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	`[{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},{"b":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]`,
	`[null]`, `["s"]`, `[true]`, `[{}]`, `[[]]`, `[["a",null]]`,
}

// FuzzDecodeValueMatchesRoundTrip: DecodeValue gives what writing the value
// as JSON and decoding it strictly gives, and refuses what that refuses.
func FuzzDecodeValueMatchesRoundTrip(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, check := range []func(t *testing.T, x any){
			sameAsRoundTrip[fastClaims], sameAsRoundTrip[Header], sameAsRoundTrip[genericClaims],
			sameAsRoundTrip[slowClaims], sameAsRoundTrip[[]string], sameAsRoundTrip[any], sameAsRoundTrip[map[string]*fastInner],
		} {
			// Each check gets its own copy: a failed one may have
			// written into the value.
			if x, ok := valueFromJSON(data); ok {
				check(t, x)
			}
		}
	})
}

func TestDecodeValueMatchesRoundTrip(t *testing.T) {
	for _, s := range append(valueSeeds, decodeSeeds...) {
		for _, check := range []func(t *testing.T, x any){
			sameAsRoundTrip[fastClaims], sameAsRoundTrip[Header], sameAsRoundTrip[genericClaims],
			sameAsRoundTrip[slowClaims], sameAsRoundTrip[[]string], sameAsRoundTrip[any], sameAsRoundTrip[map[string]*fastInner],
		} {
			if x, ok := valueFromJSON([]byte(s)); ok {
				check(t, x)
			}
			if x, ok := valueFromJSON([]byte("[" + s + "]")); ok {
				check(t, x)
			}
		}
	}
	// Values JSON decoding does not make go the long way.
	sameAsRoundTrip[fastClaims](t, map[string]any{"iat": 7, "nm": "x"})
	sameAsRoundTrip[fastClaims](t, map[string]any{"nm": "\xff"})
	var h Header
	if err := DecodeValue(map[string]any{"alg": math.NaN()}, &h); err == nil {
		t.Error("NaN accepted")
	}
}
