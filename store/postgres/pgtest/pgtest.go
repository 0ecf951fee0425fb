// Package pgtest gives tests a throwaway PostgreSQL cluster: initdb in a
// temporary directory (as the postgres user when the tests run as root,
// which PostgreSQL refuses to be), a free loopback port, pg_ctl start, one
// database; and at the end pg_ctl stop -m immediate, as a crash would.
//
// A test binary starts one cluster in its TestMain with [Main], and each
// test that needs it calls [DSN]. Without the PostgreSQL binaries
// (/usr/lib/postgresql/*/bin, or initdb on the PATH) the tests skip with
// a message naming the package to install, unless the environment variable
// EPERMIT_PG is "require" (as in CI), in which case the binary fails.
// EPERMIT_PG_DSN names an existing database to use instead of a throwaway
// cluster; tests create and drop their own schemas in it.
package pgtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Environment variables read by [Main].
const (
	// EnvRequire set to "require" makes a missing PostgreSQL a failure.
	EnvRequire = "EPERMIT_PG"
	// EnvDSN names an existing database to test against.
	EnvDSN = "EPERMIT_PG_DSN"
)

// Install is the command that installs the PostgreSQL binaries on Debian.
const Install = "apt-get install -y postgresql"

// ErrNoPostgres reports that the PostgreSQL server binaries are not installed.
var ErrNoPostgres = errors.New("pgtest: PostgreSQL server binaries not found (install them with: " + Install + ")")

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	bin  string // directory of initdb, pg_ctl, createdb
	dir  string // temporary directory holding the data directory and socket
	port int
	as   string // user the server runs as ("" for the current user)
}

// Start initializes and starts a cluster on a free loopback port.
func Start() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs the postgres user (created by %q): %w", Install, err)
		}
		c.as = "postgres"
	}
	if c.dir, err = os.MkdirTemp("", "pgtest"); err != nil {
		return nil, err
	}
	if err := c.init(); err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	// Another process may take the port between our probe and the server's
	// bind: try a few.
	for range 3 {
		if c.port, err = freePort(); err != nil {
			break
		}
		if err = c.start(); err == nil {
			c.watch()
			return c, nil
		}
	}
	os.RemoveAll(c.dir)
	return nil, err
}

// binGlob matches the directories of Debian's PostgreSQL binaries.
var binGlob = "/usr/lib/postgresql/*/bin"

func findBin() (string, error) {
	dirs, _ := filepath.Glob(binGlob)
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrNoPostgres
}

// version is the major version in /usr/lib/postgresql/<v>/bin.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "pg") }

// cmd runs a PostgreSQL program as the cluster's user.
func (c *Cluster) cmd(prog string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, prog)
	if c.as != "" {
		return exec.Command("runuser", append([]string{"-u", c.as, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (c *Cluster) run(prog string, args ...string) error {
	out, err := c.cmd(prog, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: %s: %w\n%s", prog, err, out)
	}
	return nil
}

func (c *Cluster) init() error {
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(c.data(), 0o700); err != nil {
		return err
	}
	if c.as != "" {
		u, err := user.Lookup(c.as)
		if err != nil {
			return err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.data(), uid, gid); err != nil {
			return err
		}
	}
	// --no-sync only skips flushing the fresh data directory; the server
	// itself runs with fsync on, as in production.
	return c.run("initdb", "-D", c.data(), "--auth=trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions")
}

func (c *Cluster) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 -c deadlock_timeout=100ms", c.port, c.data())
	log := filepath.Join(c.data(), "log")
	if err := c.run("pg_ctl", "-D", c.data(), "-l", log, "-o", opts, "-w", "-t", "60", "start"); err != nil {
		tail, _ := os.ReadFile(log)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("%w\nserver log:\n%s", err, tail)
	}
	return nil
}

// watch starts a process, in a session of its own so that a Ctrl-C to the
// tests does not reach it, that stops the cluster and removes its files
// when this process ends without doing so (a test timeout panics, a
// SIGKILL).
func (c *Cluster) watch() {
	stop := strings.Join(c.cmd("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop").Args, " ")
	script := fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 1; done; if [ -d %s ]; then %s >/dev/null 2>&1; rm -rf %s; fi",
		os.Getpid(), c.data(), stop, c.dir)
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if cmd.Start() == nil {
		go cmd.Wait()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN returns the connection string of database db in the cluster.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// CreateDatabase creates database db and returns its connection string.
func (c *Cluster) CreateDatabase(db string) (string, error) {
	if err := c.run("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres", db); err != nil {
		return "", err
	}
	return c.DSN(db), nil
}

// Stop stops the server at once, as a crash would, and removes its files.
func (c *Cluster) Stop() error {
	err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
	return errors.Join(err, os.RemoveAll(c.dir))
}

var nameSeq atomic.Int64

// The test database of this test binary, in cluster unless it came from
// EPERMIT_PG_DSN; skip says why there is none.
var (
	dsn, skip string
	cluster   *Cluster
)

// Main runs the tests of m against a throwaway cluster with a database
// "epermit" (or the database of EPERMIT_PG_DSN), and stops the cluster
// afterwards. Call it from TestMain.
func Main(m *testing.M) {
	if d := os.Getenv(EnvDSN); d != "" {
		dsn = d
		os.Exit(m.Run())
	}
	c, err := Start()
	if err != nil {
		if errors.Is(err, ErrNoPostgres) && os.Getenv(EnvRequire) != "require" {
			skip = fmt.Sprintf("no PostgreSQL server binaries: install them with %q (or set %s to a database)", Install, EnvDSN)
			os.Exit(m.Run())
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// An interrupted test run must not leave a server behind.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		c.Stop()
		fmt.Fprintf(os.Stderr, "pgtest: %v: stopped the throwaway cluster\n", s)
		os.Exit(2)
	}()
	code := 1
	cluster = c
	if dsn, err = c.CreateDatabase("epermit"); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	signal.Stop(sig)
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// Restart stops the test cluster as a crash does (immediate shutdown: no
// checkpoint, recovery from the WAL at the next start) and starts it again
// on the same port. It skips t when the database is not a throwaway
// cluster.
func Restart(t testing.TB) error {
	DSN(t)
	if cluster == nil {
		t.Skip("the database of " + EnvDSN + " is not restarted by tests")
	}
	if err := cluster.run("pg_ctl", "-D", cluster.data(), "-m", "immediate", "-w", "stop"); err != nil {
		return err
	}
	return cluster.start()
}

// ServerCPU returns the CPU time used so far by the test cluster's
// processes (Linux): the postmaster and its children, living and ended. It
// fails when the database is not a throwaway cluster.
func ServerCPU() (time.Duration, error) {
	if cluster == nil {
		return 0, errors.New("pgtest: no throwaway cluster")
	}
	pidFile, err := os.ReadFile(filepath.Join(cluster.data(), "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	postmaster, _, _ := strings.Cut(string(pidFile), "\n")
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // ended meanwhile
		}
		// After the command in parentheses: state, ppid, … and from the
		// twelfth on utime, stime, cutime, cstime.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		pid := filepath.Base(filepath.Dir(f))
		if len(fields) < 15 || (pid != postmaster && fields[1] != postmaster) {
			continue
		}
		n := 2 // utime, stime
		if pid == postmaster {
			n = 4 // and cutime, cstime: its children that have ended
		}
		for _, v := range fields[11 : 11+n] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	// Linux reports these in USER_HZ, 100 a second.
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// DSN returns the connection string of the test database, or skips t when
// the PostgreSQL binaries are not installed (and not required).
func DSN(t testing.TB) string {
	t.Helper()
	if dsn == "" {
		if skip == "" {
			t.Fatal("pgtest: DSN called without pgtest.Main in TestMain")
		}
		t.Skip(skip)
	}
	return dsn
}

// Name returns a name unique in this process for a test's schema: letters,
// digits and underscores, starting with a letter.
func Name(prefix string) string {
	n := nameSeq.Add(1)
	return strings.ToLower(prefix) + "_" + strconv.FormatInt(int64(os.Getpid()), 36) + "_" + strconv.FormatInt(n, 10)
}
