// Command peers measures e-permit's verifier against an independent SD-JWT VC
// library on the same presentations, in one run: the OpenWallet
// Foundation's sd-jwt-js (@sd-jwt/sd-jwt-vc, pinned in peers/package.json)
// under Node.js, in-process, with the status list from memory.
//
//	make bench-peers          # npm ci in peers/, then go run ./peers
//
// It issues a credential bound to an Ed25519 device key, makes the
// presentations of two purposes (residence-proof: no disclosure;
// public-service: the residence group) with fresh KB-JWTs, and signs a
// trust list and a 1,024-entry status list, all at the current time. Each
// round then verifies each presentation -n times with verifier.Verify and
// -n times with sd-jwt-js (peers/sdjwt-verify.mjs), each measured in CPU
// time of its own process (process.cpuUsage in Node, getrusage here;
// garbage collection included on both sides), and prints the ratio; the
// summary is the median of the rounds. docs/performance.md has the numbers.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
	"github.com/epermit/epermit/statuslist"
	"github.com/epermit/epermit/trust"
	"github.com/epermit/epermit/verifier"
)

const (
	iss       = "https://ep.zjga.gov.cn/hz"
	statusURI = "https://ep.zjga.gov.cn/hz/status/1"
)

// fixture is what peers/sdjwt-verify.mjs reads.
type fixture struct {
	IssuerJWK     keys.JWK            `json:"issuer_jwk"`
	StatusList    string              `json:"status_list"`
	Presentations map[string]string   `json:"presentations"` // by purpose
	Required      map[string][]string `json:"required"`      // claims sd-jwt-js must find, by purpose
	N             int                 `json:"n"`
}

func main() {
	rounds := flag.Int("rounds", 5, "rounds of both verifiers")
	n := flag.Int("n", 2000, "verifications of each presentation per round and verifier")
	dir := flag.String("dir", "peers", "directory of sdjwt-verify.mjs and its node_modules")
	flag.Parse()
	if err := run(*rounds, *n, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

func run(rounds, n int, dir string) error {
	now := time.Now()
	_, root, _ := ed25519.GenerateKey(rand.Reader)
	issuerPub, issuerKey, _ := ed25519.GenerateKey(rand.Reader)
	holderPub, holderKey, _ := ed25519.GenerateKey(rand.Reader)
	ij := keys.PublicJWK(issuerPub)

	tl, err := trust.Sign(root, trust.List{
		Version: 1, IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(7 * 24 * time.Hour),
		Issuers: []trust.Issuer{{
			ID: iss, Name: trust.Text{ZH: "杭州市公安局", EN: "Hangzhou Public Security Bureau"}, Region: "330100",
			JWKS: keys.JWKS{Keys: []keys.JWK{ij}}, StatusLists: []string{statusURI},
		}},
		Policy: trust.DefaultPolicy(),
	})
	if err != nil {
		return err
	}
	td, err := verifier.LoadTrustList(tl, keys.Thumbprint(root.Public().(ed25519.PublicKey)), now)
	if err != nil {
		return err
	}
	list, _ := statuslist.New(2, 1024)
	_ = list.Set(6, statuslist.Invalid)
	st, err := statuslist.SignToken(issuerKey, ij.Kid, statuslist.TokenClaims{Sub: statusURI, IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(24 * time.Hour), TTL: time.Hour, List: list})
	if err != nil {
		return err
	}
	if err := td.AddStatusList(st, now); err != nil {
		return err
	}
	issued, err := credential.Issue(issuerKey, ij.Kid, credential.Claims{
		Issuer: iss, IssuedAt: now.Add(-time.Hour), Expires: now.Add(300 * 24 * time.Hour),
		Status: statuslist.Reference{Idx: 5, URI: statusURI}, Holder: holderPub,
		Name: "李明", MaskedID: "110105********0517", Region: "330106", PermitNo: "33010626D25JX4",
		Identity: &credential.Identity{CitizenID: "110105199208140517", Ethnicity: "01"},
		Residence: &credential.Residence{Address: "浙江省杭州市西湖区示例街 88 号 2 幢 1203 室", HouseholdAddress: "北京市朝阳区示例路 12 号院 3 号楼 501 室",
			HouseholdDivision: "110105", Since: "2024-03-15", Basis: []string{"employment", "residence"}, IssueDate: "2026-11-27"},
	}, rand.Reader)
	if err != nil {
		return err
	}

	f := fixture{IssuerJWK: ij, StatusList: st, N: n, Presentations: map[string]string{},
		Required: map[string][]string{trust.PurposeResidenceProof: {"nm", "pn"}, trust.PurposePublicService: {"nm", "pn", credential.GroupResidence}}}
	purposes := []string{trust.PurposeResidenceProof, trust.PurposePublicService}
	for _, purpose := range purposes {
		p, err := sdjwt.Split(issued)
		if err != nil {
			return err
		}
		var keep []string
		for _, d := range p.Disclosures {
			if purpose == trust.PurposePublicService && credential.GroupOf(d) == credential.GroupResidence {
				keep = append(keep, d)
			}
		}
		p.Disclosures = keep
		if p, err = sdjwt.Bind(p, holderKey, credential.AnyAudience, "bench-peers-nonce", now); err != nil {
			return err
		}
		f.Presentations[purpose] = p.String()
		if r := verifier.Verify(p.String(), verifier.Options{Trust: td, Purpose: purpose, Now: now}); !r.Valid {
			return fmt.Errorf("%s: our verifier refuses the presentation: %+v", purpose, r.Reasons)
		}
	}
	tmp, err := os.MkdirTemp("", "epermit-peers")
	if err != nil {
		return err
	}
	if os.Getenv("PEERS_KEEP") == "" {
		defer os.RemoveAll(tmp)
	}
	if os.Getenv("PEERS_KEEP") != "" {
		fmt.Println(tmp)
	}
	fixtureFile := filepath.Join(tmp, "fixture.json")
	b, _ := json.Marshal(f)
	if err := os.WriteFile(fixtureFile, b, 0o644); err != nil {
		return err
	}

	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("peers: %d rounds, %d verifications of each presentation per round and verifier; load average %s", rounds, n, load)
	ratios := map[string][]float64{}
	for round := 1; round <= rounds; round++ {
		ours := map[string]float64{}
		for _, purpose := range purposes {
			o := verifier.Options{Trust: td, Purpose: purpose, Now: time.Now(), Freshness: time.Hour}
			text := f.Presentations[purpose]
			c0 := processCPU()
			for range n {
				if !verifier.Verify(text, o).Valid {
					return fmt.Errorf("%s: refused", purpose)
				}
			}
			ours[purpose] = float64(processCPU()-c0) / float64(n)
		}
		out, err := exec.Command("node", filepath.Join(dir, "sdjwt-verify.mjs"), fixtureFile).Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Stderr.Write(ee.Stderr)
			}
			return fmt.Errorf("node %s: %w", filepath.Join(dir, "sdjwt-verify.mjs"), err)
		}
		var theirs map[string]struct { // CPU ns per verification, by purpose
			Full     float64 `json:"full"`
			NoStatus float64 `json:"no_status"`
		}
		if err := json.Unmarshal(out, &theirs); err != nil {
			return fmt.Errorf("sdjwt-verify.mjs printed %q: %w", out, err)
		}
		for _, purpose := range purposes {
			t := theirs[purpose]
			full, noStatus := t.Full/ours[purpose], t.NoStatus/ours[purpose]
			ratios[purpose] = append(ratios[purpose], full)
			ratios[purpose+" no status"] = append(ratios[purpose+" no status"], noStatus)
			fmt.Printf("round %d  %-16s  e-permit %6.1f us | sd-jwt-js %6.1f us, %.2fx | without its status check %6.1f us, %.2fx  (CPU per verification)\n",
				round, purpose, ours[purpose]/1e3, t.Full/1e3, full, t.NoStatus/1e3, noStatus)
		}
	}
	for _, purpose := range purposes {
		for _, which := range []string{purpose, purpose + " no status"} {
			rs := ratios[which]
			slices.Sort(rs)
			fmt.Printf("median  %-28s  e-permit is %.2fx faster than sd-jwt-js (range %.2f-%.2f)\n", which, rs[len(rs)/2], rs[0], rs[len(rs)-1])
		}
	}
	return nil
}

// processCPU returns the CPU time this process has used, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
