package audit

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 8, 0, 0, 250_000_000, time.UTC)

// sample returns the descriptive fields of the first entry of the worked
// example (testdata/python_hashes.json).
func sample() Entry {
	return Entry{
		Time: t0, Actor: "officer:hz-0042", Role: "officer", Action: "permit.issue",
		Subject: "浙A-2026-000123",
		Detail:  map[string]string{"note": `"quoted" \ <&>`, "applicant": "110105********002X"},
	}
}

// buildLog chains n entries.
func buildLog(t testing.TB, n int) []Entry {
	t.Helper()
	var out []Entry
	var prev *Entry
	for i := 0; i < n; i++ {
		e := sample()
		e.Time = t0.Add(time.Duration(i) * time.Second)
		e.Detail = map[string]string{"i": strings.Repeat("x", i)}
		c, err := Chain(prev, e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
		prev = &out[len(out)-1]
	}
	return out
}

func verify(log []Entry) (*Verifier, error) {
	var v Verifier
	for _, e := range log {
		if err := v.Next(e); err != nil {
			return &v, err
		}
	}
	return &v, nil
}

func TestHashMatchesIndependentComputation(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/python_hashes.json")
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Canonical1 string `json:"canonical_1"`
		Hash1      string `json:"hash_1"`
		Canonical2 string `json:"canonical_2"`
		Hash2      string `json:"hash_2"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	e1, err := Chain(nil, sample())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e1.Canonical()
	if string(c) != want.Canonical1 || e1.Hash != want.Hash1 {
		t.Fatalf("entry 1:\n got %s %s\nwant %s %s", c, e1.Hash, want.Canonical1, want.Hash1)
	}
	e2, err := Chain(&e1, Entry{Time: time.Date(2026, 5, 1, 16, 0, 1, 0, time.FixedZone("CST", 8*3600)),
		Actor: "system", Role: "system", Action: "status.revoke", Subject: "浙A-2026-000123"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ = e2.Canonical()
	if string(c) != want.Canonical2 || e2.Hash != want.Hash2 {
		t.Fatalf("entry 2:\n got %s %s\nwant %s %s", c, e2.Hash, want.Canonical2, want.Hash2)
	}
}

func TestChainAndVerify(t *testing.T) {
	t.Parallel()
	log := buildLog(t, 5)
	for i, e := range log {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		if i > 0 && e.Prev != log[i-1].Hash {
			t.Fatalf("entry %d prev %q", i, e.Prev)
		}
	}
	if log[0].Prev != "" {
		t.Fatalf("first prev %q", log[0].Prev)
	}
	v, err := verify(log)
	if err != nil {
		t.Fatal(err)
	}
	if v.Count() != 5 || v.Head() != log[4].Hash {
		t.Fatalf("count %d head %s", v.Count(), v.Head())
	}
	var empty Verifier
	if empty.Head() != "" || empty.Count() != 0 {
		t.Fatal("zero verifier not empty")
	}
}

func TestChainCopiesDetailAndOverwrites(t *testing.T) {
	t.Parallel()
	d := map[string]string{"k": "v"}
	e := sample()
	e.Detail, e.Seq, e.Prev, e.Hash = d, 99, "bogus", "bogus"
	c, err := Chain(nil, e)
	if err != nil {
		t.Fatal(err)
	}
	d["k"] = "changed"
	if err := c.Check(nil); err != nil {
		t.Fatalf("caller's map changed the entry: %v", err)
	}
	if c.Seq != 1 || c.Prev != "" {
		t.Fatalf("seq %d prev %q", c.Seq, c.Prev)
	}
	if _, err := Chain(&Entry{Seq: 3}, sample()); err == nil {
		t.Fatal("chained after an entry without hash")
	}
}

func TestTamperEachField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(*Entry)
		reason string
	}{
		{"seq", func(e *Entry) { e.Seq++ }, ReasonSeq},
		{"time", func(e *Entry) { e.Time = e.Time.Add(time.Nanosecond) }, ReasonHash},
		{"actor", func(e *Entry) { e.Actor += "x" }, ReasonHash},
		{"role", func(e *Entry) { e.Role = "admin" }, ReasonHash},
		{"action", func(e *Entry) { e.Action = "permit.revoke" }, ReasonHash},
		{"subject", func(e *Entry) { e.Subject = "other" }, ReasonHash},
		{"detail value", func(e *Entry) { e.Detail["i"] += "y" }, ReasonHash},
		{"detail key added", func(e *Entry) { e.Detail["j"] = "" }, ReasonHash},
		{"detail removed", func(e *Entry) { e.Detail = nil }, ReasonHash},
		{"prev", func(e *Entry) { e.Prev = strings.Repeat("0", 64) }, ReasonPrev},
		{"hash", func(e *Entry) { e.Hash = strings.Repeat("0", 64) }, ReasonHash},
		{"hash upper case", func(e *Entry) { e.Hash = strings.ToUpper(e.Hash) }, ReasonHash},
	}
	for _, tt := range tests {
		for _, at := range []int{0, 2, 4} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				log := buildLog(t, 5)
				tt.tamper(&log[at])
				_, err := verify(log)
				var be *BrokenError
				if !errors.As(err, &be) {
					t.Fatalf("tamper at %d: err = %v", at, err)
				}
				if be.Seq != uint64(at+1) || be.Reason != tt.reason {
					t.Fatalf("tamper at %d: got seq %d %q, want seq %d %q", at, be.Seq, be.Reason, at+1, tt.reason)
				}
			})
		}
	}
}

func TestTamperAndRehashIsCaughtByNext(t *testing.T) {
	t.Parallel()
	// An attacker who rewrites entry 2 and recomputes its hash breaks the
	// link from entry 3.
	log := buildLog(t, 4)
	log[1].Subject = "forged"
	log[1].Hash, _ = log[1].ComputeHash()
	_, err := verify(log)
	var be *BrokenError
	if !errors.As(err, &be) || be.Seq != 3 || be.Reason != ReasonPrev {
		t.Fatalf("err = %v", err)
	}
}

func TestReorderDeleteInsert(t *testing.T) {
	t.Parallel()
	log := buildLog(t, 6)
	extra := buildLog(t, 2)[1]
	otherFirst := mustChain(t, Entry{Time: t0, Actor: "other", Action: "x"})
	otherSecond, err := Chain(&otherFirst, sample())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		log    []Entry
		seq    uint64
		reason string
	}{
		{"swap 3 and 4", []Entry{log[0], log[1], log[3], log[2], log[4], log[5]}, 3, ReasonSeq},
		{"delete 3", []Entry{log[0], log[1], log[3], log[4], log[5]}, 3, ReasonSeq},
		{"delete first", log[1:], 1, ReasonSeq},
		{"duplicate 2", []Entry{log[0], log[1], log[1], log[2]}, 3, ReasonSeq},
		{"insert foreign entry", []Entry{log[0], log[1], extra}, 3, ReasonSeq},
		{"splice from other log", []Entry{log[0], otherSecond}, 2, ReasonPrev},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := verify(tt.log)
			var be *BrokenError
			if !errors.As(err, &be) || be.Seq != tt.seq || be.Reason != tt.reason {
				t.Fatalf("err = %v, want seq %d %s", err, tt.seq, tt.reason)
			}
			if v.Count() != tt.seq-1 {
				t.Fatalf("count %d", v.Count())
			}
			if err2 := v.Next(log[0]); err2 != err {
				t.Fatalf("Next after failure = %v", err2)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", MaxFieldBytes+1)
	many := map[string]string{}
	for i := 0; i <= MaxDetail; i++ {
		many[string(rune('A'+i))] = "v"
	}
	tests := []struct {
		name string
		mod  func(*Entry)
		ok   bool
	}{
		{"sample", func(*Entry) {}, true},
		{"masked id", func(e *Entry) { e.Subject = "440524********0014" }, true},
		{"17 digits", func(e *Entry) { e.Subject = "12345678901234567" }, true},
		{"17 digits then letter", func(e *Entry) { e.Subject = "12345678901234567A" }, true},
		{"max lengths", func(e *Entry) { e.Actor = long[1:]; e.Detail = map[string]string{"k": strings.Repeat("é", 512)} }, true},
		{"empty actor", func(e *Entry) { e.Actor = "" }, false},
		{"empty action", func(e *Entry) { e.Action = "" }, false},
		{"zero time", func(e *Entry) { e.Time = time.Time{} }, false},
		{"long actor", func(e *Entry) { e.Actor = long }, false},
		{"long action", func(e *Entry) { e.Action = long }, false},
		{"long subject", func(e *Entry) { e.Subject = long }, false},
		{"long role", func(e *Entry) { e.Role = long }, false},
		{"long detail key", func(e *Entry) { e.Detail = map[string]string{long: "v"} }, false},
		{"empty detail key", func(e *Entry) { e.Detail = map[string]string{"": "v"} }, false},
		{"too many details", func(e *Entry) { e.Detail = many }, false},
		{"long detail value", func(e *Entry) { e.Detail = map[string]string{"k": strings.Repeat("a", MaxDetailValue+1)} }, false},
		{"id in subject", func(e *Entry) { e.Subject = "440524188001010014" }, false},
		{"id with X in subject", func(e *Entry) { e.Subject = "11010519491231002X" }, false},
		{"id with x inside text", func(e *Entry) { e.Subject = "申请人11010519491231002x号" }, false},
		{"id with bad checksum", func(e *Entry) { e.Subject = "440524188001010015" }, false},
		{"19 digits", func(e *Entry) { e.Subject = "1746086400000000000" }, false},
		{"id in detail", func(e *Entry) { e.Detail = map[string]string{"id": "id=440524188001010014;"} }, false},
		{"id in detail key", func(e *Entry) { e.Detail = map[string]string{"440524188001010014": "v"} }, false},
		{"id in actor", func(e *Entry) { e.Actor = "440524188001010014" }, false},
		{"full-width id", func(e *Entry) { e.Subject = "４４０５２４１８８００１０１００１４" }, false},
		{"full-width X", func(e *Entry) { e.Subject = "１１０１０５１９４９１２３１００２Ｘ" }, false},
		{"newline", func(e *Entry) { e.Subject = "a\nb" }, false},
		{"tab in detail", func(e *Entry) { e.Detail = map[string]string{"k": "a\tb"} }, false},
		{"line separator", func(e *Entry) { e.Action = "a\u2028b" }, false},
		{"C1 control", func(e *Entry) { e.Role = "a\u0085b" }, false},
		{"invalid utf8", func(e *Entry) { e.Subject = "a\xffb" }, false},
		// Evasions of the ID check (issue 10, hole 11).
		{"id with spaces", func(e *Entry) { e.Subject = "holder 440524 18800101 0014 moved" }, false},
		{"id with hyphens and dots", func(e *Entry) { e.Detail = map[string]string{"reason": "ID 440524-1880.0101-0014"} }, false},
		{"id with ideographic spaces", func(e *Entry) { e.Subject = "４４０５２４\u3000１８８００１０１\u3000００１４" }, false},
		{"id with zero-width spaces", func(e *Entry) { e.Subject = "440524\u200b188001010014" }, false},
		{"id behind a bidi override", func(e *Entry) { e.Subject = "\u202e410010108815425044" }, false},
		{"reversed id with X", func(e *Entry) { e.Subject = "X20013219491501011" }, false},
		{"reversed id with x and spaces", func(e *Entry) { e.Subject = "x 2001321949150 1011" }, false},
		{"id with combining marks", func(e *Entry) { e.Subject = "4\u03014\u03010524188001010014" }, false},
		{"zero-width joiner alone", func(e *Entry) { e.Subject = "a\u200db" }, false},
		{"dates and a masked id", func(e *Entry) { e.Detail = map[string]string{"k": "valid until 2027-11-27, 440524********0014"} }, true},
		{"two short numbers", func(e *Entry) { e.Subject = "seq 12345678 list 4242" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := sample()
			tt.mod(&e)
			err := e.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v does not wrap ErrInvalid", err)
				}
				if strings.Contains(err.Error(), "440524188001010014") || strings.Contains(err.Error(), "1231002") {
					t.Fatalf("error repeats the personal data: %v", err)
				}
				if _, cerr := Chain(nil, e); cerr == nil {
					t.Fatal("Chain accepted an invalid entry")
				}
			}
		})
	}
}

func TestValidateTestVectors(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/citizen_ids.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Valid []string }
	if err := json.Unmarshal(raw, &v); err != nil || len(v.Valid) == 0 {
		t.Fatal(err)
	}
	for _, id := range v.Valid {
		e := sample()
		e.Detail = map[string]string{"who": "applicant " + id}
		if e.Validate() == nil {
			t.Errorf("accepted %s", id)
		}
		e.Detail = map[string]string{"who": id[:6] + "********" + id[14:]}
		if err := e.Validate(); err != nil {
			t.Errorf("refused masked %s: %v", id, err)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range append(buildLog(t, 3), mustChain(t, Entry{Time: t0, Actor: "a", Action: "b"})) {
		b, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if err := got.Check(prevOf(t, e)); err != nil {
			t.Fatalf("round trip of %s: %v", b, err)
		}
		b2, _ := Marshal(got)
		if string(b2) != string(b) {
			t.Fatalf("re-marshal differs:\n%s\n%s", b, b2)
		}
	}
	b, _ := Marshal(mustChain(t, sample()))
	want := `{"seq":1,"time":"2026-05-01T08:00:00.25Z","actor":"officer:hz-0042","role":"officer","action":"permit.issue","subject":"浙A-2026-000123","detail":{"applicant":"110105********002X","note":"\"quoted\" \\ <&>"},"prev":"","hash":"53121567e26a6a83d18bbde69163536909729325a95fdc5b8097e2e12f6903d1"}`
	if string(b) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", b, want)
	}
}

// prevOf returns a stand-in previous entry for e: only Seq and Hash matter.
func prevOf(t *testing.T, e Entry) *Entry {
	t.Helper()
	if e.Seq == 1 {
		return nil
	}
	return &Entry{Seq: e.Seq - 1, Hash: e.Prev}
}

func mustChain(t *testing.T, e Entry) Entry {
	t.Helper()
	c, err := Chain(nil, e)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUnmarshalRefuses(t *testing.T) {
	t.Parallel()
	good := `{"seq":1,"time":"2026-05-01T08:00:00Z","actor":"a","role":"","action":"b","subject":"","prev":"","hash":"00"}`
	if _, err := Unmarshal([]byte(good)); err != nil {
		t.Fatalf("good: %v", err)
	}
	tests := []struct{ name, in string }{
		{"unknown member", strings.Replace(good, `"role"`, `"rank":1,"role"`, 1)},
		{"duplicate", strings.Replace(good, `"actor":"a"`, `"actor":"a","actor":"c"`, 1)},
		{"case variant", strings.Replace(good, `"actor"`, `"Actor"`, 1)},
		{"missing seq", strings.Replace(good, `"seq":1,`, ``, 1)},
		{"missing time", strings.Replace(good, `"time":"2026-05-01T08:00:00Z",`, ``, 1)},
		{"missing hash", strings.Replace(good, `,"hash":"00"`, ``, 1)},
		{"offset time", strings.Replace(good, `08:00:00Z`, `16:00:00+08:00`, 1)},
		{"trailing zero time", strings.Replace(good, `08:00:00Z`, `08:00:00.500Z`, 1)},
		{"bad time", strings.Replace(good, `2026-05-01T08:00:00Z`, `yesterday`, 1)},
		{"string seq", strings.Replace(good, `"seq":1`, `"seq":"1"`, 1)},
		{"negative seq", strings.Replace(good, `"seq":1`, `"seq":-1`, 1)},
		{"null detail", strings.Replace(good, `"prev"`, `"detail":null,"prev"`, 1)},
		{"numeric detail", strings.Replace(good, `"prev"`, `"detail":{"a":1},"prev"`, 1)},
		{"array", `[]`},
		{"null", `null`},
		{"trailing", good + `{}`},
		{"huge", `{"actor":"` + strings.Repeat("a", 70000) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Unmarshal([]byte(tt.in)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Unmarshal(%.80s) = %v", tt.in, err)
			}
		})
	}
}

func FuzzUnmarshal(f *testing.F) {
	b, _ := Marshal(buildLog(f, 2)[1])
	f.Add(b)
	f.Add([]byte(`{"seq":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Unmarshal(data)
		if err != nil {
			return
		}
		_ = e.Check(nil)
		_ = e.Validate()
		if _, err := Marshal(e); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkChain(b *testing.B) {
	prev := buildLog(b, 1)[0]
	e := sample()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Chain(&prev, e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifierNext(b *testing.B) {
	log := buildLog(b, 2)
	b.ReportAllocs()
	for b.Loop() {
		var v Verifier
		if err := v.Next(log[0]); err != nil {
			b.Fatal(err)
		}
	}
}
