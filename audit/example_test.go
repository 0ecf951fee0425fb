package audit_test

import (
	"fmt"
	"time"

	"github.com/epermit/epermit/audit"
)

// Example_hash chains the first entry of a log and shows the bytes that are
// hashed, so that an auditor can check the rule with other tools:
//
//	printf 'epermit-audit-v1\n%s' "$canonical" | sha256sum
func Example_hash() {
	e, err := audit.Chain(nil, audit.Entry{
		Time:    time.Date(2026, 5, 1, 16, 0, 0, 250_000_000, time.FixedZone("CST", 8*3600)),
		Actor:   "officer:hz-0042",
		Role:    "officer",
		Action:  "permit.issue",
		Subject: "浙A-2026-000123",
		Detail:  map[string]string{"note": `"quoted" \ <&>`, "applicant": "110105********002X"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	canonical, _ := e.Canonical()
	fmt.Printf("%s\n%s\n", canonical, e.Hash)
	// Output:
	// {"seq":1,"time":"2026-05-01T08:00:00.25Z","actor":"officer:hz-0042","role":"officer","action":"permit.issue","subject":"浙A-2026-000123","detail":[["applicant","110105********002X"],["note","\"quoted\" \\ <&>"]],"prev":""}
	// 53121567e26a6a83d18bbde69163536909729325a95fdc5b8097e2e12f6903d1
}

// ExampleVerifier checks a stored log entry by entry.
func ExampleVerifier() {
	var log []audit.Entry
	var prev *audit.Entry
	for i, action := range []string{"permit.issue", "permit.renew", "permit.revoke"} {
		e, err := audit.Chain(prev, audit.Entry{
			Time: time.Date(2026, 5, 1, 8, i, 0, 0, time.UTC), Actor: "system", Action: action,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		log = append(log, e)
		prev = &log[len(log)-1]
	}
	log[1].Action = "permit.cancel" // tampering

	var v audit.Verifier
	for _, e := range log {
		if err := v.Next(e); err != nil {
			fmt.Println(err)
			break
		}
	}
	fmt.Println("verified:", v.Count())
	// Output:
	// audit: chain broken at seq 2: hash mismatch
	// verified: 1
}
