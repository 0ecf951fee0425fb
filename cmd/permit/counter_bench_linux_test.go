//go:build linux

package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/qr"
	"github.com/epermit/epermit/sdjwt"
)

// processCPU returns the CPU time this process has used, all threads
// (garbage collection included).
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCounterRatio measures counter mode (verify --stdin --json) per
// line against the raw pair of signature checks of the same presentations,
// in CPU time of the whole process, in one run: 2,000 fresh presentations
// (one wallet, each with its own nonce), raw and as the QR code carries
// them (packed), with the verdicts written to a file and to a pipe that
// another process (cat) drains. The start-up (reading the trust and status
// lists) is measured with an empty input and taken off. Each reported
// ratio is the median of -benchtime rounds. The goal is at most 1.25x
// (docs/performance.md):
//
//	go test -run '^$' -bench CounterRatio -benchtime 5x ./cmd/permit/
func BenchmarkCounterRatio(b *testing.B) {
	const lines = 2000
	f := newFixture(b)
	codes := make([]string, lines)
	for i := range codes {
		codes[i] = f.show(b, t0, "residence-proof")
	}
	floor := rawPairs(b, f, codes)
	now := func() time.Time { return t0.Add(5 * time.Second) }
	args := f.verifyArgs("residence-proof", "--stdin", "--json")
	dir := b.TempDir()
	inputs := map[string]string{"empty": filepath.Join(dir, "empty")}
	for _, form := range []string{"raw", "packed"} {
		var sb strings.Builder
		for _, c := range codes {
			if form == "packed" {
				var err error
				if c, err = qr.Pack(c); err != nil {
					b.Fatal(err)
				}
			}
			sb.WriteString(c + "\n")
		}
		inputs[form] = filepath.Join(dir, form)
		if err := os.WriteFile(inputs[form], []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(inputs["empty"], nil, 0o644); err != nil {
		b.Fatal(err)
	}

	// counterCPU runs counter mode on input and returns the process CPU it
	// took, verdicts to a file or to a pipe.
	counterCPU := func(input string, toPipe bool) time.Duration {
		in, err := os.Open(input)
		if err != nil {
			b.Fatal(err)
		}
		defer in.Close()
		var out *os.File
		var drain *exec.Cmd
		if toPipe {
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			drain = exec.Command("cat")
			drain.Stdin = r
			if err := drain.Start(); err != nil {
				b.Fatal(err)
			}
			r.Close()
			out = w
		} else if out, err = os.Create(filepath.Join(dir, "verdicts")); err != nil {
			b.Fatal(err)
		}
		c0 := processCPU()
		code := run(args, in, out, io.Discard, now)
		c1 := processCPU()
		out.Close()
		if drain != nil {
			_ = drain.Wait()
		}
		if code != 0 {
			b.Fatalf("counter mode exited %d", code)
		}
		return c1 - c0
	}

	ratios := map[string][]float64{}
	for b.Loop() {
		c0 := processCPU()
		for i := range floor {
			if !floor[i]() {
				b.Fatal("bad signature")
			}
		}
		perFloor := float64(processCPU()-c0) / lines
		for _, form := range []string{"raw", "packed"} {
			for _, sink := range []string{"file", "pipe"} {
				toPipe := sink == "pipe"
				start := counterCPU(inputs["empty"], toPipe)
				perLine := float64(counterCPU(inputs[form], toPipe)-start) / lines
				ratios[form+"-"+sink] = append(ratios[form+"-"+sink], perLine/perFloor)
			}
		}
	}
	for name, rs := range ratios {
		slices.Sort(rs)
		b.ReportMetric(rs[len(rs)/2], "x-"+name)
	}
}

// rawPairs returns, for each presentation, its two bare Ed25519 checks:
// the issuer's signature and the KB-JWT's by the holder's key.
func rawPairs(b *testing.B, f *fixture, codes []string) []func() bool {
	raw, err := os.ReadFile(f.issuerSet)
	if err != nil {
		b.Fatal(err)
	}
	set, err := keys.ParseJWKS(raw)
	if err != nil {
		b.Fatal(err)
	}
	issuer, err := set.Keys[0].PublicKey()
	if err != nil {
		b.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	split := func(jwt string) (msg, sig []byte) {
		i := strings.LastIndexByte(jwt, '.')
		sig, err := b64.DecodeString(jwt[i+1:])
		if err != nil {
			b.Fatal(err)
		}
		return []byte(jwt[:i]), sig
	}
	pairs := make([]func() bool, len(codes))
	for i, c := range codes {
		p, err := sdjwt.Split(c)
		if err != nil {
			b.Fatal(err)
		}
		body := p.IssuerJWT[strings.IndexByte(p.IssuerJWT, '.')+1 : strings.LastIndexByte(p.IssuerJWT, '.')]
		payload, err := b64.DecodeString(body)
		if err != nil {
			b.Fatal(err)
		}
		pl, err := credential.ParsePayload(payload)
		if err != nil {
			b.Fatal(err)
		}
		holder := pl.Holder().(ed25519.PublicKey)
		m1, s1 := split(p.IssuerJWT)
		m2, s2 := split(p.KeyBinding)
		pairs[i] = func() bool { return ed25519.Verify(issuer, m1, s1) && ed25519.Verify(holder, m2, s2) }
	}
	return pairs
}
