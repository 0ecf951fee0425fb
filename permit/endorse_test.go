package permit

import (
	"errors"
	"strings"
	"testing"
)

func TestStateBoundaries(t *testing.T) {
	t.Parallel()
	p := issue(t, validApp(), d(2026, 3, 31)) // ValidUntil 2027-03-31, window opens 2027-02-28
	if p.ValidUntil != d(2027, 3, 31) || p.WindowOpens() != d(2027, 2, 28) {
		t.Fatalf("ValidUntil %v, window %v", p.ValidUntil, p.WindowOpens())
	}
	tests := []struct {
		today Date
		want  State
		days  int
	}{
		{d(2026, 3, 30), StateNotYetValid, 335},
		{d(2026, 3, 31), StateValid, 334},
		{d(2027, 2, 27), StateValid, 1},
		{d(2027, 2, 28), StateEndorsementDue, 0},
		{d(2027, 3, 30), StateEndorsementDue, -30},
		{d(2027, 3, 31), StateOverdue, -31},
		{d(2030, 1, 1), StateOverdue, -1038},
	}
	for _, tt := range tests {
		if got := p.State(tt.today); got != tt.want {
			t.Errorf("State(%v) = %q, want %q", tt.today, got, tt.want)
		}
		if got := p.DaysUntilWindow(tt.today); got != tt.days {
			t.Errorf("DaysUntilWindow(%v) = %d, want %d", tt.today, got, tt.days)
		}
		if got := p.State(tt.today).Usable(); got != (tt.want == StateValid || tt.want == StateEndorsementDue) {
			t.Errorf("Usable on %v = %v", tt.today, got)
		}
	}
}

func TestEndorseInWindow(t *testing.T) {
	t.Parallel()
	p := issue(t, validApp(), d(2026, 3, 31))
	for _, today := range []Date{d(2027, 2, 28), d(2027, 3, 15), d(2027, 3, 30)} {
		q, err := p.Endorse(today)
		if err != nil {
			t.Fatalf("Endorse(%v): %v", today, err)
		}
		if q.ValidUntil != d(2028, 3, 31) || q.ResidenceSince != p.ResidenceSince || q.IssueDate != p.IssueDate || q.Number != p.Number {
			t.Errorf("Endorse(%v) = ValidUntil %v, ResidenceSince %v", today, q.ValidUntil, q.ResidenceSince)
		}
		if q.State(today) != StateValid {
			t.Errorf("after endorsing on %v the state is %q", today, q.State(today))
		}
	}
	if p.ValidUntil != d(2027, 3, 31) {
		t.Error("Endorse changed the receiver")
	}
}

func TestEndorseTooEarly(t *testing.T) {
	t.Parallel()
	p := issue(t, validApp(), d(2026, 3, 31))
	for _, today := range []Date{d(2027, 2, 27), d(2026, 4, 1), d(2026, 1, 1)} {
		q, err := p.Endorse(today)
		if !errors.Is(err, ErrEndorseTooEarly) {
			t.Fatalf("Endorse(%v) = %v, want ErrEndorseTooEarly", today, err)
		}
		if !strings.Contains(err.Error(), "2027-02-28") {
			t.Errorf("the error does not say when the window opens: %v", err)
		}
		if q.ValidUntil != p.ValidUntil {
			t.Error("a refused endorsement changed the permit")
		}
	}
	if _, err := p.Endorse(Date{}); !errors.Is(err, ErrInvalidDate) {
		t.Errorf("Endorse(zero) = %v", err)
	}
}

func TestEndorseOverdueRestores(t *testing.T) {
	t.Parallel()
	a := validApp()
	a.Guardian = &Guardian{Name: "李母", CitizenID: "11010519491231002X", Relation: "mother"}
	p := issue(t, a, d(2026, 3, 31))
	tests := []struct{ today, until Date }{
		{d(2027, 3, 31), d(2028, 3, 31)}, // on ValidUntil itself: already late
		{d(2027, 9, 10), d(2028, 9, 10)},
		{d(2028, 2, 29), d(2029, 2, 28)},
	}
	for _, tt := range tests {
		if p.State(tt.today) != StateOverdue || p.Services(tt.today) != nil {
			t.Fatalf("not overdue and suspended on %v", tt.today)
		}
		q, err := p.Endorse(tt.today)
		if err != nil {
			t.Fatalf("Endorse(%v): %v", tt.today, err)
		}
		if q.ValidUntil != tt.until || q.ResidenceSince != tt.today {
			t.Errorf("late Endorse(%v) = ValidUntil %v, ResidenceSince %v; want %v, %v", tt.today, q.ValidUntil, q.ResidenceSince, tt.until, tt.today)
		}
		if q.State(tt.today) != StateValid || len(q.Services(tt.today)) == 0 {
			t.Errorf("not restored on %v", tt.today)
		}
		if q.IssueDate != p.IssueDate || q.Number != p.Number {
			t.Error("a late endorsement changed the number or the first issue date")
		}
		q.Guardian.Name = "changed"
		q.Basis[0] = BasisStudy
		if p.Guardian.Name != "李母" || p.Basis[0] != BasisEmployment {
			t.Fatal("the endorsed permit shares memory with the original")
		}
	}
}

func TestEndorseLeapDay(t *testing.T) {
	t.Parallel()
	a := validApp()
	a.ResidenceSince = d(2027, 6, 1)
	p := issue(t, a, d(2028, 2, 29))
	if p.ValidUntil != d(2029, 2, 28) || p.WindowOpens() != d(2029, 1, 28) {
		t.Fatalf("ValidUntil %v, window %v", p.ValidUntil, p.WindowOpens())
	}
	q, err := p.Endorse(d(2029, 2, 1))
	if err != nil || q.ValidUntil != d(2030, 2, 28) {
		t.Errorf("Endorse = %v, %v", q.ValidUntil, err)
	}
}

func TestServices(t *testing.T) {
	t.Parallel()
	all := AllServices()
	if len(all) != 16 {
		t.Fatalf("%d services, want 16 (9 of Art. 12, 7 of Art. 13)", len(all))
	}
	codes := map[string]bool{}
	art := map[string]int{}
	for _, s := range all {
		if codes[s.Code] || s.ZH == "" || s.EN == "" {
			t.Errorf("bad or duplicate service %+v", s)
		}
		codes[s.Code] = true
		art[s.Article]++
	}
	if art["Art. 12"] != 9 || art["Art. 13"] != 7 {
		t.Errorf("services per article = %v", art)
	}
	all[0].Code = "changed"
	if AllServices()[0].Code != "employment" {
		t.Error("AllServices returns shared memory")
	}
	p := issue(t, validApp(), d(2026, 3, 31))
	if len(p.Services(d(2027, 3, 1))) != 16 || p.Services(d(2027, 3, 31)) != nil || p.Services(d(2026, 3, 1)) != nil {
		t.Error("Services ignores the state")
	}
}
