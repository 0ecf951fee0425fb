package verifier

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
)

// marshalReflect is how MarshalJSON wrote a result with encoding/json
// before AppendJSON: the reference it is held to.
func marshalReflect(t testing.TB, r *Result) []byte {
	t.Helper()
	type plain Result // no methods
	b, err := json.Marshal(struct {
		*plain
		Claims       map[string]any `json:"claims"`
		TrustAgeSec  int64          `json:"trust_age_s"`
		StatusAgeSec int64          `json:"status_age_s"`
	}{(*plain)(r), r.ClaimsMap(), int64(r.TrustAge / time.Second), int64(r.StatusAge / time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	f := newFixture(t)
	results := []*Result{
		{Reasons: nil, Warnings: nil},
		Verify("garbage", Options{Trust: f.trust, Now: t0}),
		Verify(f.live(t), Options{Trust: f.trust, Now: t0}),
		Verify(f.live(t, "idn"), Options{Trust: f.trust, Now: t0, Purpose: "credit-loan"}),
		Verify(f.issued, Options{Trust: f.trust, Now: t0.Add(400 * 24 * time.Hour)}),
		Verify(f.live(t, "idn", "res"), Options{Trust: f.trust, Now: t0, Purpose: "police-check"}),
	}
	withPhoto := *Verify(f.live(t, "idn", "res"), Options{Trust: f.trust, Now: t0})
	claims := *withPhoto.Claims
	id, res := *claims.Identity, *claims.Residence
	id.PhotoSHA256 = "ph<oto>"
	res.Basis = []string{}
	claims.Identity, claims.Residence = &id, &res
	withPhoto.Claims = &claims
	noBasis := withPhoto
	claims2 := claims
	res2 := res
	res2.Basis = nil
	claims2.Residence = &res2
	noBasis.Claims = &claims2
	results = append(results, &withPhoto, &noBasis)
	for _, r := range results {
		if got, want := r.AppendJSON(nil), marshalReflect(t, r); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
		}
		if got, err := json.Marshal(r); err != nil || !bytes.Equal(got, marshalReflect(t, r)) {
			t.Errorf("json.Marshal through MarshalJSON: %s, %v", got, err)
		}
	}
}

// FuzzAppendJSON: every string, escaped as encoding/json escapes it.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "<a&b>", "\x00\x01\b\f\n\r\t\x1f\x7f", "张三\u2028\u2029", "\xff\xfe", "a\xc3", "\U0001F600", "\ufeff\u202e"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		r := &Result{Purpose: a, Status: b, Issuer: Issuer{ID: a, NameZH: b, NameEN: a + b},
			Reasons: []Reason{{Code: Code(a), Message: b, MessageZH: a, Detail: b}}, Warnings: []Reason{},
			Claims: &credential.Claims{Name: a, MaskedID: b, Region: a, PermitNo: b,
				Identity:  &credential.Identity{CitizenID: a, Ethnicity: b, PhotoSHA256: a},
				Residence: &credential.Residence{Address: a, HouseholdAddress: b, HouseholdDivision: a, Since: b, Basis: []string{a, b}, IssueDate: a}},
			TrustAge: time.Duration(len(a)) * time.Hour, StatusAge: -time.Duration(len(b)) * time.Second}
		if got, want := r.AppendJSON(nil), marshalReflect(t, r); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON %q, encoding/json %q", got, want)
		}
	})
}

func BenchmarkVerdictJSON(b *testing.B) {
	f := newFixture(b)
	r := Verify(f.live(b, "idn"), Options{Trust: f.trust, Now: t0, Purpose: "credit-loan"})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = r.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			marshalReflect(b, r)
		}
	})
}
