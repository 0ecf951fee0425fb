// Command brotli writes FILE.br beside each FILE, compressed with brotli at
// its best quality (11) and a 16 MiB window: "make wasm" precompresses the
// browser apps' WebAssembly module with it, once at build time, for package
// web to send to browsers that accept brotli. The module compresses to 22 %
// (gzip -9: 27 %), at the price of about a minute of CPU; the result is kept
// under the user's cache directory by the SHA-256 of what was compressed,
// so that building the same module again costs nothing.
//
//	go run ./internal/cmd/brotli FILE...
//
// github.com/andybalholm/brotli is a pure-Go port of Google's reference
// encoder (no cgo, so the build stays portable), kept up to date and used
// widely; the standard library has no brotli.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/andybalholm/brotli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./internal/cmd/brotli FILE...")
		os.Exit(2)
	}
	for _, name := range os.Args[1:] {
		if err := compress(name); err != nil {
			fmt.Fprintln(os.Stderr, "brotli:", err)
			os.Exit(1)
		}
	}
}

func compress(name string) error {
	body, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	cached := ""
	if dir, err := os.UserCacheDir(); err == nil {
		cached = filepath.Join(dir, "epermit-brotli", hex.EncodeToString(sum[:])+".br")
	}
	br, err := os.ReadFile(cached)
	if cached == "" || err != nil {
		var b bytes.Buffer
		w := brotli.NewWriterOptions(&b, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24})
		if _, err := w.Write(body); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		br = b.Bytes()
		if cached != "" && os.MkdirAll(filepath.Dir(cached), 0o755) == nil {
			_ = os.WriteFile(cached, br, 0o644) // a cache: failing to keep it costs time only
		}
	}
	if err := os.WriteFile(name+".br", br, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes; %s.br: %d bytes\n", name, len(body), name, len(br))
	return nil
}
