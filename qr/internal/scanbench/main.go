// Command scanbench decodes the qr package's photo corpora with the qr
// package and with two independent decoders, zbar (zbarimg, Debian's
// zbar-tools) and zxing-cpp (Debian's python3-zxing-cpp), and prints
// success counts and median times per degradation kind, side by side.
//
// Run from the module root (scripts/bench-scan.sh installs the peers):
//
//	go run ./qr/internal/scanbench              # every corpus, 3 timed rounds
//	go run ./qr/internal/scanbench -rounds 5 -v # and every decode
//
// Decoders run interleaved, image by image, so that all see the same
// machine load. Times include decoding the JPEG. The qr package and
// zxing-cpp are timed inside their process (zxing-cpp in a Python process
// that stays up); zbarimg is a process per image, so its time includes
// starting it, which the table also gives net of the time zbarimg takes
// on a 1x1 image.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	rounds := flag.Int("rounds", 3, "timed decodes per image and decoder (the median counts)")
	verbose := flag.Bool("v", false, "print the result of every decode")
	decoders := flag.String("decoders", "ours,ours-photo,zbar,zxing-cpp,zxing-wasm",
		"decoders to run, comma-separated: ours (a camera frame's effort), ours-photo (a photo's), zbar, zxing-cpp, zxing-wasm")
	python := flag.String("python", "/usr/bin/python3", "the Python that has Debian's zxingcpp module")
	node := flag.String("node", "node", "the Node.js that runs zxing-wasm")
	wasmDir := flag.String("zxing-wasm-dir", "qr/internal/scanbench/zxingwasm", "where npm ci installed zxing-wasm")
	texts := flag.String("texts", "qr/testdata", "directory holding the texts the manifests name")
	sets := flag.String("sets", "", "only these sets (corpus, tune, heldout), comma-separated")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: scanbench [flags] [corpus-dir ...]   (default qr/testdata/corpus qr/testdata/photos)")
		flag.PrintDefaults()
	}
	flag.Parse()
	dirs := flag.Args()
	if len(dirs) == 0 {
		dirs = []string{"qr/testdata/corpus", "qr/testdata/photos"}
	}
	cfg := config{rounds: max(*rounds, 1), verbose: *verbose, python: *python, textDir: *texts, node: *node, zxingWasmDir: *wasmDir}
	for _, d := range strings.Split(*decoders, ",") {
		cfg.decoders = append(cfg.decoders, strings.TrimSpace(d))
	}
	if *sets != "" {
		cfg.sets = strings.Split(*sets, ",")
	}
	if err := run(os.Stdout, dirs, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "scanbench:", err)
		os.Exit(1)
	}
}
