// Package synthetic makes synthetic permit holders of Zhejiang for load
// tests: valid GB 11643 citizen identity numbers (no two alike), household
// registrations in the provinces people come from, residence divisions in
// the 11 prefecture-level cities weighted by where they live, Chinese
// names and addresses, eligible applications, wallet keys, and a share of
// permits revoked or suspended, ready for [issuer.Service.Seed].
//
// A [Generator] is deterministic: the same Config gives the same people in
// the same order, so a load interrupted after n permits resumes with
// [Generator.Skip] (dates and keys drawn afresh would differ only in the
// permits not yet written).
package synthetic

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/epermit/epermit/issuer"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/permit"
)

// Config says what to generate.
type Config struct {
	// Seed makes the population; the same seed, the same people.
	Seed uint64
	// Now is the time the population is seen at: every permit was approved
	// between MaxAge and MinAge before it.
	Now            time.Time
	MinAge, MaxAge time.Duration
	// Revoked and Suspended are the shares of permits (0 to 1) revoked or
	// suspended since their credential was issued.
	Revoked, Suspended float64
	// Photo, when not nil, is every applicant's photo (PhotoType its type).
	Photo     []byte
	PhotoType string
}

// Generator draws permit holders one after another.
type Generator struct {
	cfg  Config
	next uint64
	seen map[[18]byte]struct{} // citizen IDs drawn
	nos  map[string]struct{}   // permit numbers drawn
	// weights, summed
	cityW, originW []int
}

// New checks cfg and returns a generator positioned at the first permit.
func New(cfg Config) (*Generator, error) {
	if cfg.Now.IsZero() || cfg.MinAge < 0 || cfg.MaxAge < cfg.MinAge {
		return nil, errors.New("synthetic: want a time and 0 <= min age <= max age")
	}
	if cfg.Revoked < 0 || cfg.Suspended < 0 || cfg.Revoked+cfg.Suspended > 1 {
		return nil, fmt.Errorf("synthetic: shares revoked %v and suspended %v: want 0 to 1 in all", cfg.Revoked, cfg.Suspended)
	}
	g := &Generator{cfg: cfg, seen: map[[18]byte]struct{}{}, nos: map[string]struct{}{}}
	for _, c := range zhejiang {
		g.cityW = append(g.cityW, last(g.cityW)+c.weight)
	}
	for _, o := range origins {
		g.originW = append(g.originW, last(g.originW)+o.weight)
	}
	return g, nil
}

func last(s []int) int {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// pick returns the index drawn from summed weights.
func pick(r *rand.Rand, summed []int) int {
	x := r.IntN(last(summed))
	for i, w := range summed {
		if x < w {
			return i
		}
	}
	return len(summed) - 1
}

// person is what the citizen ID decides, drawn first from a permit's
// stream so that Skip can replay it alone.
type person struct {
	id        string
	birth     permit.Date
	household county
	province  string
	ethnic    []string
	city      int // residence city index in zhejiang
	residence county
	approved  time.Time
	number    string
}

// rng returns the random stream of permit i, also as bytes.
func (g *Generator) rng(i uint64) (*rand.Rand, *rand.ChaCha8) {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[0:], g.cfg.Seed)
	binary.LittleEndian.PutUint64(seed[8:], i)
	c := rand.NewChaCha8(seed)
	return rand.New(c), c
}

// draw draws permit i's person, with an identity number and a permit
// number not drawn before.
func (g *Generator) draw(r *rand.Rand, bytes *rand.ChaCha8) person {
	var p person
	p.city = pick(r, g.cityW)
	p.residence = zhejiang[p.city].counties[r.IntN(len(zhejiang[p.city].counties))]
	age := g.cfg.MinAge + time.Duration(r.Int64N(int64(g.cfg.MaxAge-g.cfg.MinAge)+1))
	p.approved = g.cfg.Now.Add(-age).Truncate(time.Second)
	if r.IntN(100) < fromZhejiang {
		c := r.IntN(len(zhejiang) - 1)
		if c >= p.city {
			c++ // another city than the residence
		}
		p.household = zhejiang[c].counties[r.IntN(len(zhejiang[c].counties))]
		p.household.name = zhejiang[c].name + p.household.name
		p.province = "浙江省"
	} else {
		o := origins[pick(r, g.originW)]
		p.household, p.province, p.ethnic = o.county, o.province, o.ethnicities
	}
	approved := permit.DateOf(p.approved, permit.ChinaTime())
	for {
		// Aged 18 to 60 on approval.
		p.birth = approved.AddDays(-(18*365 + r.IntN(42*365)))
		body := fmt.Sprintf("%s%04d%02d%02d%03d", p.household.code, p.birth.Year, int(p.birth.Month), p.birth.Day, r.IntN(1000))
		c, _ := permit.IDCheckChar(body)
		p.id = body + string(c)
		var k [18]byte
		copy(k[:], p.id)
		if _, dup := g.seen[k]; !dup {
			g.seen[k] = struct{}{}
			break
		}
	}
	for {
		// Random, as Approve draws them, but from the permit's own stream.
		p.number, _ = permit.NewNumber(permit.Division(p.residence.code), approved.Year, bytes)
		if _, dup := g.nos[p.number]; !dup {
			g.nos[p.number] = struct{}{}
			return p
		}
	}
}

// Skip passes over the next n permits (already written by an earlier run),
// remembering their identity and permit numbers so that none is drawn
// again, and returns their permit numbers.
func (g *Generator) Skip(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = g.draw(g.rng(g.next)).number
		g.next++
	}
	return out
}

// Next returns the next permit.
func (g *Generator) Next() issuer.SeedPermit {
	r, bytes := g.rng(g.next)
	g.next++
	p := g.draw(r, bytes)
	sex, _ := permit.IDSex(p.id)
	eth := "01"
	if len(p.ethnic) > 0 && r.IntN(10) == 0 {
		eth = p.ethnic[r.IntN(len(p.ethnic))]
	}
	city, res := zhejiang[p.city], p.residence
	submitted := p.approved.Add(-time.Duration(1+r.IntN(20*24)) * time.Hour)
	since := permit.DateOf(submitted, permit.ChinaTime()).AddMonths(-6).AddDays(-r.IntN(6 * 365))
	issued := p.approved.Add(time.Duration(1+r.IntN(3*24*60)) * time.Minute)
	if issued.After(g.cfg.Now) {
		issued = g.cfg.Now
	}
	year := since.Year
	var basis []permit.BasisClaim
	if r.IntN(100) < 85 {
		basis = append(basis, permit.BasisClaim{Kind: permit.BasisEmployment, Evidence: fmt.Sprintf("劳动合同 %s-%d-%06d", res.code, year, r.IntN(1e6))})
	}
	if len(basis) == 0 || r.IntN(100) < 40 {
		basis = append(basis, permit.BasisClaim{Kind: permit.BasisResidence, Evidence: fmt.Sprintf("房屋租赁登记 %s-%d-%05d", res.code, year, r.IntN(1e5))})
	}
	if p.approved.Year()-p.birth.Year < 25 && r.IntN(100) < 20 {
		basis = append(basis, permit.BasisClaim{Kind: permit.BasisStudy, Evidence: fmt.Sprintf("学生证 %d%06d", year, r.IntN(1e6))})
	}
	var seed [32]byte
	_, _ = bytes.Read(seed[:])
	holder := keys.PublicJWK(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey))
	sp := issuer.SeedPermit{
		Number: p.number,
		Form: permit.Application{
			Name: name(r), Sex: sex, Ethnicity: eth, BirthDate: p.birth, CitizenID: p.id,
			HouseholdAddress:  fmt.Sprintf("%s%s%s%s村%d组%d号", p.province, p.household.name, towns[r.IntN(len(towns))], string(givenChars[r.IntN(len(givenChars))]), 1+r.IntN(12), 1+r.IntN(80)),
			HouseholdDivision: permit.Division(p.household.code),
			ResidenceAddress:  fmt.Sprintf("浙江省%s%s%s%d号%d幢%d室", city.name, res.name, streets[r.IntN(len(streets))], 1+r.IntN(999), 1+r.IntN(30), 101+r.IntN(30)*100+r.IntN(8)),
			ResidenceDivision: permit.Division(res.code),
			ResidenceSince:    since,
			Basis:             basis,
		},
		Photo: g.cfg.Photo, PhotoType: g.cfg.PhotoType,
		Submitted: submitted, Approved: p.approved, Issued: issued, Holder: holder, State: issuer.PermitActive,
	}
	switch x := r.Float64(); {
	case x < g.cfg.Revoked:
		sp.State, sp.Reason = issuer.PermitRevoked, revokeReasons[r.IntN(len(revokeReasons))]
	case x < g.cfg.Revoked+g.cfg.Suspended:
		sp.State, sp.Reason = issuer.PermitSuspended, suspendReasons[r.IntN(len(suspendReasons))]
	}
	if sp.State != issuer.PermitActive {
		sp.Changed = issued.Add(time.Duration(r.Int64N(int64(g.cfg.Now.Sub(issued)) + 1))).Truncate(time.Second)
	}
	return sp
}

// name draws a Chinese name of two or three characters.
func name(r *rand.Rand) string {
	n := string(surnames[r.IntN(len(surnames))]) + string(givenChars[r.IntN(len(givenChars))])
	if r.IntN(3) > 0 {
		n += string(givenChars[r.IntN(len(givenChars))])
	}
	return n
}
