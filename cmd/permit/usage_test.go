package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsage covers mistakes in the command line: exit 2 with a hint on
// stderr, before any file is read or written.
func TestUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	list := filepath.Join(dir, "trust.jwt") // a trust list is not JSON: it needs --pin
	if err := os.WriteFile(list, []byte("eyJhbGciOiJFZERTQSJ9.e30.c2ln\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"help"}, 0, "Usage:\n  permit keys new", ""},
		{"--help", []string{"--help"}, 0, "Usage:", ""},
		{"version", []string{"version"}, 0, "permit (e-permit)\n", ""},
		{"verify -h", []string{"verify", "-h"}, 0, "", "-trust"},
		{"no command", nil, 2, "", "permit: usage: no command"},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"unknown subcommand", []string{"keys", "rotate"}, 2, "", "keys needs a subcommand:\n  permit keys new"},
		{"group alone", []string{"wallet"}, 2, "", "permit wallet show"},
		{"unknown flag", []string{"keys", "new", "--out", out, "--bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{"keys new without --out", []string{"keys", "new"}, 2, "", "needs --out"},
		{"verify without --trust", []string{"verify", "some-code"}, 2, "", "verify takes --trust FILE [--pin P] [--status FILE]... or --cache DIR"},
		{"verify without input", []string{"verify", "--trust", list, "--pin", "x"}, 2, "", "exactly one of TEXT, --qr IMAGE or --stdin"},
		{"verify TEXT and --stdin", []string{"verify", "--trust", list, "--pin", "x", "--stdin", "code"}, 2, "", "exactly one of"},
		{"verify TEXT and --qr", []string{"verify", "--trust", list, "--pin", "x", "--qr", "a.png", "code"}, 2, "", "exactly one of"},
		{"verify --qr and --stdin", []string{"verify", "--trust", list, "--pin", "x", "--qr", "a.png", "--stdin"}, 2, "", "exactly one of"},
		{"verify two TEXTs", []string{"verify", "--trust", list, "--pin", "x", "one", "two"}, 2, "", "exactly one of"},
		{"trust list without --pin", []string{"verify", "--trust", list, "code"}, 2, "", "a trust list needs --pin"},
		{"issue without --idx", []string{"issue", "--app", "a", "--holder", "h", "--key", "k", "--iss", "i", "--status-uri", "s"}, 2, "", "issue needs --idx"},
		{"issue without --app", []string{"issue", "--idx", "1"}, 2, "", "needs --app"},
		{"issue bad --issued", []string{"issue", "--app", adultApp, "--holder", "h", "--key", "k", "--iss", "i", "--status-uri", "s", "--idx", "1", "--issued", "27/11/2026"}, 2, "", "--issued"},
		{"status new bad --bits", []string{"status", "new", "--uri", "u", "--key", "k", "--out", out, "--bits", "3"}, 2, "", "permit: usage: "},
		{"status set bad --value", []string{"status", "set", "--token", "t", "--key", "k", "--idx", "1", "--value", "lost"}, 2, "", "--value must be valid, revoked or suspended"},
		{"wallet show without --dir", []string{"wallet", "show"}, 2, "", "needs --dir"},
		{"trust sign without --out", []string{"trust", "sign", "--root", "r", "--issuer-key", "k", "--iss", "i"}, 2, "", "needs --out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := cli(t0, "", tt.args...)
			if o.code != tt.wantCode || !strings.Contains(o.stdout, tt.wantStdout) || !strings.Contains(o.stderr, tt.wantStderr) {
				t.Fatalf("want exit %d, stdout ~ %q, stderr ~ %q; got %v", tt.wantCode, tt.wantStdout, tt.wantStderr, o)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a usage error wrote %s", out)
			}
		})
	}
}

// TestInsecureKeyFile checks that every command reading a private key
// refuses one that group or others may read, and says how to fix it.
func TestInsecureKeyFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, p := range []string{f.issuerKey, f.rootKey, filepath.Join(f.wallet, "device.key")} {
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := func(t *testing.T) string { return filepath.Join(t.TempDir(), "out") }
	tests := []struct {
		name string
		args func(out string) []string
	}{
		{"issue", func(o string) []string {
			return []string{"issue", "--app", adultApp, "--holder", f.holder, "--key", f.issuerKey, "--iss", testIss, "--status-uri", testStatus, "--idx", "1", "--out", o}
		}},
		{"status new", func(o string) []string {
			return []string{"status", "new", "--uri", testStatus, "--key", f.issuerKey, "--out", o, "--size", "16"}
		}},
		{"status set", func(string) []string {
			return []string{"status", "set", "--token", f.status, "--key", f.issuerKey, "--idx", "1", "--value", "revoked"}
		}},
		{"status show with a key", func(string) []string {
			return []string{"status", "show", "--token", f.status, "--key", f.issuerKey}
		}},
		{"trust sign", func(o string) []string {
			return []string{"trust", "sign", "--root", f.rootKey, "--issuer-key", f.issuerSet, "--iss", testIss, "--status-uri", testStatus, "--out", o}
		}},
		{"wallet show", func(string) []string { return []string{"wallet", "show", "--dir", f.wallet} }},
		{"wallet add", func(string) []string {
			return []string{"wallet", "add", "--dir", f.wallet, "--jwks", f.issuerSet, f.credential}
		}},
	}
	t.Run("refused", func(t *testing.T) { // returns once every case has run
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				o := out(t)
				r := cli(t0, "", tt.args(o)...)
				if r.code != 1 || !strings.Contains(r.stderr, "chmod 600") || r.stdout != "" {
					t.Fatalf("want exit 1, no output, and chmod 600 on stderr; got %v", r)
				}
				if _, err := os.Stat(o); err == nil {
					t.Errorf("refused key still wrote %s", o)
				}
			})
		}
	})
	// The status list was not touched by the refused status set.
	o := must(t, t0, "status", "show", "--token", f.status, "--key", f.issuerSet, "--idx", "1")
	if !strings.HasSuffix(o.stdout, "[1]\tVALID\n") {
		t.Errorf("status show after refused status set: %q", o.stdout)
	}
}
