package pgtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// child is set in the test binary run by TestMissingBinaries, where no
// PostgreSQL can be found.
const child = "PGTEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(child) != "" {
		binGlob = "/nonexistent/*/bin"
		os.Setenv("PATH", "")
	}
	Main(m)
}

// TestNeedsDatabase is the test the child runs.
func TestNeedsDatabase(t *testing.T) {
	dsn := DSN(t)
	if os.Getenv(child) != "" {
		t.Fatalf("a DSN without binaries: %s", dsn)
	}
	if cluster != nil && !strings.HasPrefix(dsn, "postgres://postgres@127.0.0.1:") {
		t.Fatalf("DSN %q", dsn)
	}
}

func TestMissingBinaries(t *testing.T) {
	if os.Getenv(child) != "" {
		t.Skip("in the child")
	}
	run := func(require string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestNeedsDatabase$", "-test.v")
		cmd.Env = append(os.Environ(), child+"=1", EnvRequire+"="+require, EnvDSN+"=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP") || !strings.Contains(out, Install) {
		t.Errorf("not required: %v\n%s", err, out)
	}
	out, err = run("require")
	if err == nil || !strings.Contains(out, Install) {
		t.Errorf("required: %v\n%s", err, out)
	}
}
