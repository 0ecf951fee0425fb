package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/epermit/epermit/issuer"
)

// generate runs "permitd store generate" in this process.
func generate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCmd(append([]string{"store", "generate"}, args...)...)
}

func TestStoreGenerate(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	list := filepath.Join(t.TempDir(), "list.csv")
	if code, out, errs := generate(t, "--data", data, "--count", "120", "--batch", "50", "--revoked", "0.1", "--list", list); code != 0 ||
		!strings.Contains(out, "120 synthetic permits") {
		t.Fatalf("generate: %d %s %s", code, out, errs)
	}
	// More of the same population, resumed from the store's job.
	code, out, errs := generate(t, "--data", data, "--count", "200", "--batch", "50", "--list", list)
	if code != 0 || !strings.Contains(out, "200 synthetic permits") || !strings.Contains(out, "80 made now") ||
		!strings.Contains(errs, "holds 120 synthetic permits") {
		t.Fatalf("resume: %d %s %s", code, out, errs)
	}
	nos, err := readPermitList(list)
	if err != nil || len(nos) != 200 {
		t.Fatalf("list of %d: %v", len(nos), err)
	}
	seen := map[string]bool{}
	for _, no := range nos {
		if seen[no] {
			t.Fatalf("%s listed twice", no)
		}
		seen[no] = true
	}
	// Another population in the same store, a store not made by generate,
	// a count missing: refused.
	for _, args := range [][]string{{"--data", data, "--count", "300", "--seed", "2"}, {"--data", data, "--count", "300", "--revoked", "0.5"}} {
		if code, _, errs := generate(t, args...); code != 2 || !strings.Contains(errs, "generated with other values") {
			t.Errorf("%v: %d %s", args, code, errs)
		}
	}
	other := t.TempDir()
	if code, _, _ := runCmd("token", "create", "--data", other, "--role", "admin", "--name", "a"); code != 0 {
		t.Fatal("token create")
	}
	if code, _, errs := generate(t, "--data", other, "--count", "10"); code != 1 || !strings.Contains(errs, "not made by store generate") {
		t.Errorf("a store with other records: %d %s", code, errs)
	}
	if code, _, _ := generate(t, "--data", t.TempDir()); code != 2 {
		t.Errorf("no --count: %d", code)
	}
	// The permits are whole records: stats count them, the audit log verifies.
	code, out, errs = runCmd("store", "stats", "--data", data)
	if code != 0 || !strings.Contains(out, "200 permits") || !strings.Contains(out, "audit") {
		t.Fatalf("stats: %d %s %s", code, out, errs)
	}
	if code, out, errs := runCmd("audit", "verify", "--data", data); code != 0 || !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify: %d %s %s", code, out, errs)
	}
}

// TestEndorseResumesAfterKill kills a bulk endorsement with SIGKILL part-way
// and runs it again: every listed permit that can be endorsed is endorsed
// exactly once, the others are skipped, and the audit chain is intact.
func TestEndorseResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs permitd as a child process")
	}
	data := filepath.Join(t.TempDir(), "data")
	list := filepath.Join(t.TempDir(), "list.csv")
	// Permits approved 336-364 days ago: every one is due for endorsement.
	if code, out, errs := generate(t, "--data", data, "--count", "2000", "--age-days", "336-364", "--revoked", "0.05",
		"--suspended", "0.02", "--list", list); code != 0 {
		t.Fatalf("generate: %d %s %s", code, out, errs)
	}
	nos, err := readPermitList(list)
	if err != nil {
		t.Fatal(err)
	}
	bin := buildPermitd(t)
	report := filepath.Join(t.TempDir(), "report.csv")
	args := []string{"endorse", "--data", data, "--from", list, "--batch", "40", "--report", report, "--job", "yearly"}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The report grows after each committed batch: kill once a few are in.
	deadline := time.Now().Add(2 * time.Minute)
	for reportLines(t, report) < 15 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatal("the endorsement finished before the kill")
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "resuming job") || !strings.Contains(string(out), "2000 lines") {
		t.Fatalf("resumed run: %v %s", err, out)
	}

	e := openOffline(t, data)
	defer e.close()
	ctx := context.Background()
	job, err := e.svc.JobProgress(ctx, "yearly")
	if err != nil || job.Done != len(nos) || job.Endorsed+job.Skipped != len(nos) || job.Skipped == 0 {
		t.Fatalf("job %+v, %v", job, err)
	}
	// The audit log says which permits were endorsed, and which were
	// suspended or revoked when generated.
	auditor := issuer.Official{Name: "test", Role: issuer.RoleAuditor}
	endorsed, inactive := map[string]int{}, map[string]bool{}
	for after := uint64(0); ; {
		es, err := e.svc.Audit(ctx, auditor, after, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		for _, en := range es {
			no := strings.TrimPrefix(en.Subject, "permit:")
			switch en.Action {
			case "permit.endorse":
				endorsed[no]++
			case "permit.revoke", "permit.suspend":
				inactive[no] = true
			}
		}
		after = es[len(es)-1].Seq
	}
	for _, no := range nos {
		if want := map[bool]int{false: 1, true: 0}[inactive[no]]; endorsed[no] != want {
			t.Fatalf("%s (inactive %v) endorsed %d times", no, inactive[no], endorsed[no])
		}
	}
	if len(inactive) != job.Skipped || len(nos)-len(inactive) != job.Endorsed {
		t.Fatalf("%d inactive permits; job %+v", len(inactive), job)
	}
	// The report names skipped permits by their line in the list (which is
	// not worked through in its own order), none twice.
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, report)), "\n") {
		f := strings.Split(line, ",")
		n, _ := strconv.Atoi(f[0])
		if seen[line] || endorsed[f[1]] != 0 || n < 1 || n > len(nos) || nos[n-1] != f[1] {
			t.Fatalf("report line %q", line)
		}
		seen[line] = true
	}
	e.close()
	if out, err := exec.Command(bin, "audit", "verify", "--data", data).CombinedOutput(); err != nil || !strings.Contains(string(out), "audit log intact") {
		t.Fatalf("audit verify: %v %s", err, out)
	}
}

func reportLines(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
