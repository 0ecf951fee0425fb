//go:build js

package qr

import "syscall/js"

// cpuTime is the processor time the Node.js process running the
// WebAssembly tests has used, user and system, in nanoseconds
// (process.cpuUsage, in microseconds), or 0 outside Node.
func cpuTime() int64 {
	p := js.Global().Get("process")
	if p.IsUndefined() || p.Get("cpuUsage").IsUndefined() {
		return 0
	}
	u := p.Call("cpuUsage")
	return int64(u.Get("user").Float()+u.Get("system").Float()) * 1000
}
