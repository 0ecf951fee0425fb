//go:build !(js && wasm)

// Command epermit-wasm is the WebAssembly module of the e-permit browser
// apps; it only runs in a browser. Build it with GOOS=js GOARCH=wasm
// (make wasm).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "build with GOOS=js GOARCH=wasm (make wasm)")
	os.Exit(2)
}
