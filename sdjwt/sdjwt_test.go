package sdjwt

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRFC9901Digests(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/rfc9901_disclosures.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Array      []any  `json:"array"`
		Disclosure string `json:"disclosure"`
		Digest     string `json:"sha256_digest"`
	}
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vectors {
		if got := Digest(v.Disclosure); got != v.Digest {
			t.Errorf("Digest(%s) = %s, want %s", v.Disclosure, got, v.Digest)
		}
		d, err := ParseDisclosure(v.Disclosure)
		if err != nil {
			t.Fatalf("ParseDisclosure: %v", err)
		}
		want := v.Array
		got := []any{d.Salt, d.Value}
		if len(want) == 3 {
			got = []any{d.Salt, d.Name, d.Value}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ParseDisclosure = %v, want %v", got, want)
		}
	}
}

func TestNewDisclosure(t *testing.T) {
	t.Parallel()
	d, err := NewDisclosure(rand.Reader, "addr", map[string]any{"ra": "杭州市 <A&B>"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := b64.DecodeString(d.Encoded)
	if !strings.Contains(string(raw), `"杭州市 <A&B>"`) || strings.Contains(string(raw), ", ") || strings.Contains(string(raw), ": ") {
		t.Fatalf("disclosure JSON is escaped or not compact: %s", raw)
	}
	if salt, _ := b64.DecodeString(d.Salt); len(salt) != SaltSize {
		t.Fatalf("salt of %d bytes", len(salt))
	}
	back, err := ParseDisclosure(d.Encoded)
	if err != nil || back.Name != "addr" || back.Salt != d.Salt {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	if _, err := NewDisclosure(rand.Reader, "_sd", 1); !errors.Is(err, ErrDisclosure) {
		t.Fatalf("reserved name accepted: %v", err)
	}
}

func TestParseDisclosureRefuses(t *testing.T) {
	t.Parallel()
	for name, js := range map[string]string{
		"not array":     `{"a":1}`,
		"one element":   `["salt"]`,
		"four elements": `["s","n","v","x"]`,
		"numeric name":  `["s",1,"v"]`,
		"numeric salt":  `[1,"n","v"]`,
		"reserved _sd":  `["s","_sd","v"]`,
		"reserved ...":  `["s","...","v"]`,
		"duplicate key": `["s","n",{"a":1,"a":2}]`,
		"trailing":      `["s","n","v"]x`,
	} {
		if _, err := ParseDisclosure(b64.EncodeToString([]byte(js))); !errors.Is(err, ErrDisclosure) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := ParseDisclosure("WyJzIiwibiIsInYiXQ=="); !errors.Is(err, ErrDisclosure) {
		t.Errorf("padded base64 accepted: %v", err)
	}
}

func mustDisclose(t *testing.T, name string, v any) Disclosure {
	t.Helper()
	d, err := NewDisclosure(rand.Reader, name, v)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestResolve(t *testing.T) {
	t.Parallel()
	a := mustDisclose(t, "a", "A")
	elem := mustDisclose(t, "", "E")
	inner := mustDisclose(t, "i", 7)
	b := mustDisclose(t, "b", map[string]any{"_sd": []any{Digest(inner.Encoded)}, "x": []any{map[string]any{"...": Digest(elem.Encoded)}, map[string]any{"...": "undisclosed"}, "y"}})
	top := []string{Digest(a.Encoded), Digest(b.Encoded), "decoy"}

	got, err := Resolve(top, "sha-256", []string{a.Encoded, b.Encoded, inner.Encoded, elem.Encoded})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "A", "b": map[string]any{"i": float64(7), "x": []any{"E", "y"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Resolve = %#v\nwant %#v", got, want)
	}

	other := mustDisclose(t, "z", 1)
	sameName := mustDisclose(t, "a", "again")
	tests := []struct {
		name string
		sd   []string
		alg  string
		ds   []string
		want error
	}{
		{"not referenced", top, "", []string{a.Encoded, other.Encoded}, ErrDigestNotFound},
		{"given twice", top, "", []string{a.Encoded, a.Encoded}, ErrDuplicateDisclosure},
		{"digest listed twice", []string{Digest(a.Encoded), Digest(a.Encoded)}, "", []string{a.Encoded}, ErrDuplicateDigest},
		{"name collision", []string{Digest(a.Encoded), Digest(sameName.Encoded)}, "", []string{a.Encoded, sameName.Encoded}, ErrClaimCollision},
		{"array element at top", []string{Digest(elem.Encoded)}, "", []string{elem.Encoded}, ErrDisclosure},
		{"sha-512", top, "sha-512", nil, ErrHashAlgorithm},
		{"garbage disclosure", top, "", []string{"%%%"}, ErrDisclosure},
	}
	for _, tt := range tests {
		if _, err := Resolve(tt.sd, tt.alg, tt.ds); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in    string
		nDisc int
		kb    bool
	}{
		{"a.b.c~", 0, false},
		{"a.b.c~d1~d2~", 2, false},
		{"a.b.c~d1~x.y.z", 1, true},
		{"a.b.c~x.y.z", 0, true},
	}
	for _, tt := range ok {
		p, err := Split(tt.in)
		if err != nil {
			t.Fatalf("Split(%q): %v", tt.in, err)
		}
		if len(p.Disclosures) != tt.nDisc || (p.KeyBinding != "") != tt.kb || p.String() != tt.in {
			t.Fatalf("Split(%q) = %+v", tt.in, p)
		}
	}
	for _, bad := range []string{"", "a.b.c", "a.b~", "a.b.c~~", "a.b.c~d~kb", "~~~", strings.Repeat("a.b.c~", 100)} {
		if _, err := Split(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("Split(%q) err = %v", bad, err)
		}
	}
}

func TestKeyBinding(t *testing.T) {
	t.Parallel()
	holderPub, holder, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, other, _ := ed25519.GenerateKey(rand.Reader)
	_ = otherPub
	p, err := Split("eyJhIjoxfQ.eyJiIjoyfQ.c2ln~" + mustDisclose(t, "a", 1).Encoded + "~")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1800000000, 0)
	bound, err := Bind(p, holder, "urn:x", "n1", now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := VerifyKeyBinding(bound, holderPub)
	if err != nil {
		t.Fatal(err)
	}
	if c.Audience != "urn:x" || c.Nonce != "n1" || c.IssuedAt != now.Unix() {
		t.Fatalf("claims %+v", c)
	}
	byOther, _ := Bind(p, other, "urn:x", "n1", now)
	dropped := bound
	dropped.Disclosures = nil
	tests := []struct {
		name string
		p    Presentation
		want error
	}{
		{"no KB", p, ErrNoKeyBinding},
		{"other key", byOther, ErrKeyBinding},
		{"disclosure removed after binding", dropped, ErrSDHash},
	}
	for _, tt := range tests {
		if _, err := VerifyKeyBinding(tt.p, holderPub); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("a.b.c~d~x.y.z")
	f.Add("~")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Split(s)
		if err == nil && p.String() != s {
			t.Fatalf("String() = %q, want %q", p.String(), s)
		}
		for _, d := range p.Disclosures {
			_, _ = ParseDisclosure(d)
		}
	})
}
