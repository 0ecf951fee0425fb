package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestIssue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		app      string
		wantCode int
		// wantUnmet is the condition code printed on stderr when refused.
		wantUnmet string
	}{
		{app: "application-adult-hangzhou.json"},
		{app: "application-minor-guardian.json"},
		{app: "invalid-same-city.json", wantCode: 1, wantUnmet: "not_left_household_city"},
		{app: "dated.sh short-residence", wantCode: 1, wantUnmet: "residence_under_six_months"},
		{app: "invalid-no-basis.json", wantCode: 1, wantUnmet: "no_basis"},
		{app: "invalid-id-checksum.json", wantCode: 1, wantUnmet: "invalid_application"},
		{app: "dated.sh minor-no-guardian", wantCode: 1, wantUnmet: "minor_needs_guardian"},
	}
	for i, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			t.Parallel()
			app := filepath.Join("../../examples", tt.app)
			if script, name, ok := strings.Cut(tt.app, " "); ok {
				// An example dated relative to the day of the decision.
				data, err := exec.Command("bash", filepath.Join("../../examples", script), name, t0.Format(time.DateOnly)).Output()
				if err != nil {
					t.Fatalf("%s: %v", tt.app, err)
				}
				app = filepath.Join(t.TempDir(), name+".json")
				if err := os.WriteFile(app, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(t.TempDir(), "credential.sd-jwt")
			o := cli(t0, "", "issue", "--app", app, "--holder", f.holder,
				"--key", f.issuerKey, "--iss", testIss, "--status-uri", testStatus, "--idx", strings.Repeat("1", i+1), "--out", out)
			if o.code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %v", o.code, tt.wantCode, o)
			}
			raw, err := os.ReadFile(out)
			if tt.wantCode != 0 {
				if !regexp.MustCompile(`(?m)^  ` + tt.wantUnmet + `: .+ / Not met: `).MatchString(o.stderr) {
					t.Errorf("stderr does not list unmet condition %s: %v", tt.wantUnmet, o)
				}
				if !strings.Contains(o.stderr, "application refused: 1 condition(s) not met") {
					t.Errorf("stderr does not count the unmet conditions: %v", o)
				}
				if err == nil {
					t.Errorf("refused application still wrote %s", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// An SD-JWT as issued: issuer JWT, disclosures, trailing "~"
			// and no key-binding JWT, one line.
			if !bytes.HasSuffix(raw, []byte("~\n")) || bytes.Count(raw, []byte("~")) < 2 || bytes.Count(raw, []byte("\n")) != 1 {
				t.Errorf("credential is not one SD-JWT line ending in ~: %.80q", raw)
			}
			if o.stdout != "" {
				t.Errorf("issue --out also wrote to stdout: %q", o.stdout)
			}
		})
	}
}

// TestIssueToStdout checks that issue without --out prints the credential
// and that the wallet accepts it from standard input ("-").
func TestIssueToStdout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o := must(t, t0, "issue", "--app", adultApp, "--holder", f.holder, "--key", f.issuerKey, "--iss", testIss,
		"--status-uri", testStatus, "--idx", "3", "--number", "33010626ABCDEF")
	o = cli(t0, o.stdout, "wallet", "add", "--dir", f.wallet, "--jwks", f.issuerSet, "-")
	if o.code != 0 || !strings.HasPrefix(o.stdout, "stored permit 33010626ABCDEF (李明, 110105********0517) valid until 2027-11-27") {
		t.Fatalf("wallet add - of issue's stdout: %v", o)
	}
	// Two permits held now: wallet show must be told which.
	if o := cli(t0, "", "wallet", "show", "--dir", f.wallet); o.code != 1 || !strings.Contains(o.stderr, "several credentials") {
		t.Errorf("wallet show with two permits and no --permit: %v", o)
	}
	if o := cli(t0, "", "wallet", "show", "--dir", f.wallet, "--permit", "33010626ABCDEF"); o.code != 0 || o.stdout == "" {
		t.Errorf("wallet show --permit: %v", o)
	}
}
