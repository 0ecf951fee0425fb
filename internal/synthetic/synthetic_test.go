package synthetic

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/permit"
)

func testConfig() Config {
	return Config{Seed: 7, Now: time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC), MinAge: 24 * time.Hour,
		MaxAge: 365 * 24 * time.Hour, Revoked: 0.05, Suspended: 0.02}
}

func TestPopulation(t *testing.T) {
	g, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	const n = 4000
	ids, nos := map[string]bool{}, map[string]bool{}
	cities := map[string]int{}
	states := map[issuer.PermitState]int{}
	outside := 0
	for i := range n {
		p := g.Next()
		f := p.Form
		if err := f.Validate(); err != nil {
			t.Fatalf("permit %d: %v", i, err)
		}
		for _, day := range []time.Time{p.Submitted, p.Approved} {
			if d := permit.Decide(f, permit.DateOf(day, permit.ChinaTime())); !d.Eligible {
				t.Fatalf("permit %d not eligible on %s: %v", i, day, d.Codes())
			}
		}
		if ids[f.CitizenID] {
			t.Fatalf("permit %d: citizen ID drawn twice", i)
		}
		ids[f.CitizenID] = true
		if y := permit.DateOf(p.Approved, permit.ChinaTime()).Year % 100; !permit.ValidNumber(p.Number) || nos[p.Number] ||
			p.Number[:8] != f.ResidenceDivision.String()+fmt.Sprintf("%02d", y) {
			t.Fatalf("permit %d: number %q (approved %v, division %s)", i, p.Number, p.Approved, f.ResidenceDivision)
		}
		nos[p.Number] = true
		if f.ResidenceDivision[:2] != "33" || f.HouseholdDivision.SameCity(f.ResidenceDivision) {
			t.Fatalf("permit %d lives in %s, registered in %s", i, f.ResidenceDivision, f.HouseholdDivision)
		}
		if f.HouseholdDivision[:2] != "33" {
			outside++
		}
		cities[string(f.ResidenceDivision[:4])]++
		states[p.State]++
		if !(p.Submitted.Before(p.Approved) && !p.Issued.Before(p.Approved) && !p.Issued.After(g.cfg.Now)) {
			t.Fatalf("permit %d: times %v %v %v", i, p.Submitted, p.Approved, p.Issued)
		}
		if age := g.cfg.Now.Sub(p.Approved); age < g.cfg.MinAge || age > g.cfg.MaxAge {
			t.Fatalf("permit %d approved %v before now", i, age)
		}
		if p.State != issuer.PermitActive && (p.Changed.Before(p.Issued) || p.Changed.After(g.cfg.Now) || p.Reason == "") {
			t.Fatalf("permit %d %s at %v (issued %v), reason %q", i, p.State, p.Changed, p.Issued, p.Reason)
		}
		if _, err := p.Holder.PublicKey(); err != nil {
			t.Fatalf("permit %d: holder key %v", i, err)
		}
	}
	if len(cities) != 11 {
		t.Errorf("residences in %d cities, want the 11 of Zhejiang: %v", len(cities), cities)
	}
	if cities["3301"] < cities["3302"] || cities["3302"] < cities["3311"] {
		t.Errorf("city weights not followed: %v", cities)
	}
	if share := float64(outside) / n; share < 0.7 || share > 0.9 {
		t.Errorf("%.2f registered outside Zhejiang, want about 0.8", share)
	}
	if r := float64(states[issuer.PermitRevoked]) / n; r < 0.035 || r > 0.065 {
		t.Errorf("revoked share %.3f, want about 0.05", r)
	}
	if s := float64(states[issuer.PermitSuspended]) / n; s < 0.01 || s > 0.03 {
		t.Errorf("suspended share %.3f, want about 0.02", s)
	}
}

func TestDeterministicAndSkip(t *testing.T) {
	a, _ := New(testConfig())
	b, _ := New(testConfig())
	var want issuer.SeedPermit
	for range 501 {
		want = a.Next()
	}
	skipped := b.Skip(500)
	c0, _ := New(testConfig())
	if first := c0.Next(); len(skipped) != 500 || skipped[0] != first.Number {
		t.Fatalf("Skip gave %d numbers, the first %q, want %q", len(skipped), skipped[0], first.Number)
	}
	if got := b.Next(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after Skip(500):\n%+v\nwant\n%+v", got, want)
	}
	c := testConfig()
	c.Seed++
	other, _ := New(c)
	fresh, _ := New(testConfig())
	if other.Next().Form.CitizenID == fresh.Next().Form.CitizenID {
		t.Fatal("another seed gave the same person")
	}
}

func TestConfigRefused(t *testing.T) {
	for _, c := range []Config{{}, {Now: time.Now(), MinAge: 2, MaxAge: 1}, {Now: time.Now(), Revoked: 0.8, Suspended: 0.3}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
