// Package scripts holds the repository's shell scripts (the demos, make
// test's dependencies). Its test follows a newcomer: in a copy of the
// repository, it runs the README's shell blocks, the commands permitd's start
// banner prints, and make demo and make demo-offline followed by the commands
// they printed, each exactly as printed.
package scripts

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/epermit/epermit/trust"
)

// TestNewcomer runs what README.md, permitd's banner and the demos tell a
// newcomer to run, in a copy of the repository (a fresh clone's files) under
// a scratch directory, with TMPDIR inside it. It fails when a command fails,
// when the repository itself changes, or when a command leaves a file in the
// copy that .gitignore does not cover.
func TestNewcomer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README and the demos (about a minute); not with -short")
	}
	for tool, pkg := range map[string]string{"bash": "bash", "make": "make", "git": "git", "curl": "curl", "base64": "coreutils", "sed": "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: the README's commands need it (sudo apt-get install -y %s)", tool, pkg)
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("git", "-C", root, "rev-parse", "--git-dir").Run(); err != nil {
		t.Skipf("%s is not a git checkout: the test copies what a clone would hold", root)
	}
	before := repoState(t, root)
	scratch := t.TempDir()
	clone := filepath.Join(scratch, "e-permit")
	copyRepo(t, root, clone)
	git(t, clone, "init", "-q")
	loose := untracked(t, clone)
	n := &newcomer{t: t, clone: clone, scratch: scratch, env: scriptEnv(t, scratch, clone)}

	n.run(t, clone, "make build") // what make run does first
	t.Run("README", n.readme)
	t.Run("examples/README", n.examplesReadme)
	t.Run("banner", n.banner)
	t.Run("make demo", func(t *testing.T) { n.demo(t, "make demo") })
	t.Run("make demo-offline", func(t *testing.T) { n.demo(t, "make demo-offline") })

	if after := repoState(t, root); after != before {
		t.Errorf("the repository changed while the commands ran in a copy:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	var uncovered []string
	for _, f := range untracked(t, clone) {
		if !slices.Contains(loose, f) {
			uncovered = append(uncovered, f)
		}
	}
	if len(uncovered) > 0 {
		t.Errorf(".gitignore does not cover files the README or make created: %s", strings.Join(uncovered, " "))
	}
}

// newcomer is the copy of the repository and the environment its commands run in.
type newcomer struct {
	t              *testing.T
	clone, scratch string
	env            []string
}

// scriptEnv is the test's environment for the scripts: TMPDIR in the
// scratch directory, and none of the PERMITD_ variables a developer may have
// set.
func scriptEnv(t *testing.T, scratch, clone string) []string {
	tmp := filepath.Join(scratch, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PERMITD_") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	return append(env, "TMPDIR="+tmp, "EPERMIT_CLONE="+clone, "TERM=dumb")
}

// run runs a bash script in dir, in its own process group (ended when the
// test ends, with any permitd it left), and returns its output; the test
// fails, with the output, when it fails.
func (n *newcomer) run(t *testing.T, dir, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir, cmd.Env = dir, n.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Start()
	if err == nil {
		t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		err = cmd.Wait()
	}
	if err != nil {
		t.Fatalf("%v\n--- script:\n%s\n--- output:\n%s", err, script, out.String())
	}
	return out.String()
}

// block is one ```sh block of README.md.
type block struct {
	line  int // of its first command line
	needs string
	lines []string
}

// needsLine is the first line of a block that needs the service: "# needs:
// make run running, ..." or "# needs: make run stopped".
var needsLine = regexp.MustCompile(`^# needs: make run (running|stopped)\b`)

func readmeBlocks(t *testing.T, readme string, min int) []block {
	var out []block
	var cur *block
	for i, l := range strings.Split(readme, "\n") {
		switch {
		case cur == nil && l == "```sh":
			cur = &block{line: i + 2}
		case cur != nil && l == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil && len(cur.lines) == 0 && needsLine.MatchString(l):
			cur.needs = needsLine.FindStringSubmatch(l)[1]
		case cur != nil:
			cur.lines = append(cur.lines, l)
		}
	}
	if cur != nil || len(out) < min {
		t.Fatalf("README.md: %d shell blocks, one unclosed: %v", len(out), cur != nil)
	}
	return out
}

// makeRunOrTest matches the two commands of the README this test does not
// run as they are: make run (it starts permitd as make run does, on a free
// port) and make test (it is what runs this test).
var makeRunOrTest = regexp.MustCompile(`^make (run|test)(\s+#.*)?$`)

// readme runs every shell block of README.md, in order, in one shell that
// starts in the copy's directory, as a reader pasting them into a terminal
// would. Before a block that needs "make run running" it starts
// bin/permitd --data var as make run does (on a free port) and runs the
// export line the banner printed; before one that needs it stopped, it
// stops it.
func (n *newcomer) readme(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(n.clone, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString(`set -euo pipefail
PS4='+ '
epermit_runs=0 EPERMIT_PID=
epermit_start() {
  [ -z "$EPERMIT_PID" ] || return 0
  epermit_runs=$((epermit_runs + 1))
  local out="$EPERMIT_CLONE/var/make-run.$epermit_runs"
  mkdir -p "$EPERMIT_CLONE/var"
  (cd "$EPERMIT_CLONE" && exec bin/permitd --data var --addr 127.0.0.1:0 > "$out.out" 2> "$out.log") & EPERMIT_PID=$!
  until grep -q '^Next:' "$out.out" 2>/dev/null; do kill -0 "$EPERMIT_PID"; sleep 0.1; done
  eval "$(grep '^  export PERMITD_URL=' "$out.out")"
}
epermit_stop() {
  [ -n "$EPERMIT_PID" ] || return 0
  kill "$EPERMIT_PID"; wait "$EPERMIT_PID"; EPERMIT_PID=
}
trap epermit_stop EXIT
`)
	blocks := readmeBlocks(t, string(raw), 4)
	for _, b := range blocks {
		fmt.Fprintf(&sb, "\necho '### README.md line %d'\n", b.line)
		switch b.needs {
		case "running":
			sb.WriteString("epermit_start\n")
		case "stopped":
			sb.WriteString("epermit_stop\n")
		}
		sb.WriteString("set -x\n")
		for _, l := range b.lines {
			if makeRunOrTest.MatchString(l) {
				continue
			}
			sb.WriteString(l + "\n")
		}
		sb.WriteString("{ set +x; } 2>/dev/null\n")
		lintCommands(t, fmt.Sprintf("README.md line %d", b.line), b.lines)
	}
	out := n.run(t, n.clone, sb.String())
	for _, want := range []string{
		`"eligible":true`,        // the application of the first block
		"audit log intact",       // the stopped service's audit verify
		"stored permit",          // the tour's wallet add and the wallet's accept
		"VALID 有效 李明",            // the tour's verification
		"refused: exit status 1", // after the revocation
		"VALID 有效 王小雨",           // the verification against the service
		"status list  updated",   // the verifier's sync
		"files written under var/site",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the README's commands did not print %q:\n%s", want, out)
		}
	}

	// What the README says of freshness is what the verifier does.
	p := trust.DefaultPolicy()
	text := strings.Join(strings.Fields(string(raw)), " ")
	if want := fmt.Sprintf("accepts it for %d seconds after it is made, plus %d seconds of allowance", p.Freshness, p.ClockSkew); !strings.Contains(text, want) {
		t.Errorf("README.md does not say %q (trust.DefaultPolicy)", want)
	}
}

// examplesReadme runs the shell block of examples/README.md in the copy's
// directory, and checks that what it prints are applications.
func (n *newcomer) examplesReadme(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(n.clone, "examples", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range readmeBlocks(t, string(raw), 1) {
		out := n.run(t, n.clone, "set -euo pipefail\n"+strings.Join(b.lines, "\n")+"\n")
		if c := strings.Count(out, `"citizen_id"`); c != len(b.lines) {
			t.Errorf("examples/README.md line %d: %d applications printed by %d commands:\n%s", b.line, c, len(b.lines), out)
		}
	}
}

// banner starts permitd as make run does, in the copy's directory, and runs
// the commands its banner prints after "Next:", in one shell, as printed.
func (n *newcomer) banner(t *testing.T) {
	data := filepath.Join(n.scratch, "banner-var")
	stdout, stderr := filepath.Join(n.scratch, "banner.out"), filepath.Join(n.scratch, "banner.log")
	n.run(t, n.clone, fmt.Sprintf(`bin/permitd --data %q --addr 127.0.0.1:0 > %q 2> %q & echo $! > %q`, data, stdout, stderr, stdout+".pid"))
	pidText, err := os.ReadFile(stdout + ".pid")
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	fmt.Sscan(string(pidText), &pid)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	deadline := time.Now().Add(30 * time.Second)
	// permitd logs "permitd started" once the whole banner is out.
	for log, _ := os.ReadFile(stderr); !bytes.Contains(log, []byte("permitd started")); log, _ = os.ReadFile(stderr) {
		if time.Now().After(deadline) {
			t.Fatalf("permitd did not start: %s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	banner, err := os.ReadFile(stdout)
	if err != nil {
		t.Fatal(err)
	}
	_, next, ok := strings.Cut(string(banner), "\nNext:")
	if !ok {
		t.Fatalf("no Next: in the banner:\n%s", banner)
	}
	var cmds []string
	for _, l := range strings.Split(next, "\n")[1:] {
		if c, ok := strings.CutPrefix(l, "  "); ok {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) < 3 {
		t.Fatalf("the banner's Next: holds %d commands:\n%s", len(cmds), banner)
	}
	lintCommands(t, "the banner", cmds)
	out := n.run(t, n.clone, "set -euo pipefail\n"+strings.Join(cmds, "\n")+"\n")
	if !regexp.MustCompile(`(?m)^ept_\S+$`).MatchString(out) || !strings.Contains(out, `"eligible":true`) {
		t.Errorf("the banner's commands printed:\n%s", out)
	}
	syscall.Kill(pid, syscall.SIGTERM)
}

// demo runs make demo or make demo-offline in the copy, then the commands it
// printed ("$ " lines), in order, in one shell in an empty directory.
func (n *newcomer) demo(t *testing.T, target string) {
	out := n.run(t, n.clone, target)
	if !strings.Contains(out, "Done.") {
		t.Fatalf("%s did not finish:\n%s", target, out)
	}
	// A path it prints under TMPDIR must still be there: the demo's
	// directory is removed when it ends.
	tmp := filepath.Join(n.scratch, "tmp")
	for _, p := range regexp.MustCompile(regexp.QuoteMeta(tmp)+`/[^\s'"]*`).FindAllString(out, -1) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s names %s, which is gone", target, p)
		}
	}
	var cmds []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if c, ok := strings.CutPrefix(sc.Text(), "$ "); ok {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("%s printed %d commands:\n%s", target, len(cmds), out)
	}
	lintCommands(t, target, cmds)
	dir, err := os.MkdirTemp(tmp, "replay")
	if err != nil {
		t.Fatal(err)
	}
	replay := n.run(t, dir, "set -euo pipefail\n"+strings.Join(cmds, "\n")+"\n")
	if strings.Count(replay, "REFUSED") != strings.Count(out, "REFUSED") || strings.Count(replay, "VALID 有效") != strings.Count(out, "VALID 有效") {
		t.Errorf("the replay of %s gave other verdicts:\n%s\n--- %s:\n%s", target, replay, target, out)
	}
}

// lintCommands checks what breaks a command copied from a terminal or a
// page: a curl that sends JSON must say so (else 415), and a header with a
// space (Authorization: Bearer ...) must be quoted.
func lintCommands(t *testing.T, where string, cmds []string) {
	t.Helper()
	joined := strings.ReplaceAll(strings.Join(cmds, "\n"), "\\\n", " ")
	for _, c := range strings.Split(joined, "\n") {
		if !strings.Contains(c, "curl ") {
			continue
		}
		if strings.Contains(c, " -d ") && !regexp.MustCompile(`-H ["']Content-Type: application/json["']`).MatchString(c) {
			t.Errorf("%s: a curl that sends JSON without -H 'Content-Type: application/json': %s", where, c)
		}
		if strings.Contains(c, "Authorization") && !regexp.MustCompile(`-H ["']Authorization: Bearer [^"' ]+["']`).MatchString(c) {
			t.Errorf("%s: an Authorization header not quoted as one word: %s", where, c)
		}
	}
}

// repoState lists every file of the repository that git does not have as
// committed, ignored ones included, with its size and modification time.
func repoState(t *testing.T, root string) string {
	t.Helper()
	var sb strings.Builder
	for _, l := range strings.Split(git(t, root, "status", "--porcelain", "--ignored", "--untracked-files=all"), "\n") {
		if len(l) < 4 {
			continue
		}
		name := l[3:]
		if fi, err := os.Lstat(filepath.Join(root, name)); err == nil {
			fmt.Fprintf(&sb, "%s %d %s\n", l, fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		} else {
			fmt.Fprintf(&sb, "%s\n", l)
		}
	}
	return sb.String()
}

// untracked lists the files of a repository that are neither tracked nor ignored.
func untracked(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(git(t, dir, "status", "--porcelain", "--untracked-files=all"), "\n") {
		if name, ok := strings.CutPrefix(l, "?? "); ok {
			out = append(out, name)
		}
	}
	return out
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s in %s: %v", strings.Join(args, " "), dir, err)
	}
	return string(out)
}

// copyRepo copies the files of the repository at root that a clone would
// have, with the working tree's changes: tracked files and new ones that
// are not ignored.
func copyRepo(t *testing.T, root, dst string) {
	t.Helper()
	for _, name := range strings.Split(git(t, root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"), "\x00") {
		if name == "" {
			continue
		}
		src, to := filepath.Join(root, name), filepath.Join(dst, name)
		fi, err := os.Lstat(src)
		if err != nil {
			continue // deleted in the working tree
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(src)
			if err == nil {
				err = os.Symlink(link, to)
			}
			if err != nil {
				t.Fatal(err)
			}
		case fi.Mode().IsRegular():
			if err := copyFile(src, to, fi.Mode().Perm()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
