//go:build js && wasm

// Command epermit-wasm is the WebAssembly module of the e-permit browser
// apps (/verify/ and /wallet/). It sets globalThis.epermit to an object
// whose functions run package browser: see that package for what each one
// takes and returns.
//
// Every function checks its arguments and never throws: it returns an
// object with ok:false, error and code for bad input. present resolves to
// such an object; proof, whose Promise resolves to the proof JWT itself,
// rejects with an Error carrying the code as its code property. Results cross to JavaScript as JSON, parsed on
// the JavaScript side into plain objects.
//
// The asynchronous functions (proof, present) sign with a WebCrypto
// CryptoKey through crypto.subtle.sign: an Ed25519 key, or an ECDSA P-256
// key where the browser has no Ed25519. They return a Promise and do their
// work on a goroutine of their own: waiting for WebCrypto on the goroutine
// that runs a js.FuncOf callback would deadlock the event loop.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"syscall/js"
	"time"

	"github.com/epermit/epermit/browser"
)

// signTimeout bounds one WebCrypto signature.
const signTimeout = 30 * time.Second

var (
	jsJSON         = js.Global().Get("JSON")
	jsObject       = js.Global().Get("Object")
	jsPromise      = js.Global().Get("Promise")
	jsError        = js.Global().Get("Error")
	jsUint8Array   = js.Global().Get("Uint8Array")
	jsUint8Clamped = js.Global().Get("Uint8ClampedArray")
)

func main() {
	js.Global().Set("epermit", newAPI(browser.NewSession()))
	select {}
}

// newAPI returns the epermit object for the session s.
func newAPI(s *browser.Session) js.Value {
	api := jsObject.New()
	api.Set("version", browser.Version())

	api.Set("checkTrust", syncFunc(func(a *args) any {
		tok, pin, held := a.str(0, "trust list"), a.str(1, "pin"), a.optInt(2, "held version")
		if a.err != nil {
			return nil
		}
		return s.CheckTrust(tok, pin, held)
	}))
	api.Set("loadTrust", syncFunc(func(a *args) any {
		tok, pin, fetched := a.str(0, "trust list"), a.str(1, "pin"), a.optInt(2, "fetchedMs")
		if a.err != nil {
			return nil
		}
		return s.LoadTrust(tok, pin, fetched)
	}))
	api.Set("addStatusList", syncFunc(func(a *args) any {
		tok, fetched := a.str(0, "status list token"), a.optInt(1, "fetchedMs")
		if a.err != nil {
			return nil
		}
		return s.AddStatusList(tok, fetched)
	}))
	api.Set("verify", syncFunc(func(a *args) any {
		text, purpose, now := a.str(0, "text"), a.optStr(1, "purpose"), a.optInt(2, "nowMs")
		if a.err != nil {
			return nil
		}
		return s.Verify(text, purpose, now)
	}))
	api.Set("decodeImage", syncFunc(func(a *args) any {
		w, h, budget := a.optInt(1, "width"), a.optInt(2, "height"), a.optInt(3, "budgetMs")
		n := a.byteLen(0, "pixels")
		if a.err != nil {
			return nil
		}
		// Checked before the pixels are copied out of JavaScript.
		if out := browser.CheckImage(n, int(w), int(h)); !out.OK {
			return browser.DecodeResult{Outcome: out}
		}
		pix := a.bytes(0, "pixels")
		if a.err != nil {
			return nil
		}
		return browser.DecodeImage(pix, int(w), int(h), budget)
	}))
	api.Set("encodeQR", syncFunc(func(a *args) any {
		text, packed := a.str(0, "text"), a.optBool(1)
		if a.err != nil {
			return nil
		}
		return browser.EncodeQR(text, packed)
	}))
	api.Set("purposes", syncFunc(func(a *args) any { return s.Purposes() }))
	api.Set("issuerKeys", syncFunc(func(a *args) any {
		iss, now := a.str(0, "issuer"), a.optInt(1, "nowMs")
		if a.err != nil {
			return nil
		}
		return s.IssuerKeys(iss, now)
	}))
	api.Set("inspect", syncFunc(func(a *args) any {
		cred, jwks, pub, now := a.str(0, "credential"), a.str(1, "JWKS"), a.bytes(2, "public key"), a.optInt(3, "nowMs")
		if a.err != nil {
			return nil
		}
		return browser.Inspect(cred, jwks, pub, now)
	}))

	api.Set("proof", asyncFunc(true, func(a *args) func() (any, error) {
		key, aud, nonce, now := a.deviceKey(0, 1), a.str(2, "audience"), a.optStr(3, "nonce"), a.optInt(4, "nowMs")
		if a.err != nil {
			return nil
		}
		return func() (any, error) {
			r := browser.Proof(key, aud, nonce, now)
			if !r.OK {
				return nil, codedError{r.Outcome}
			}
			return r.JWT, nil
		}
	}))
	api.Set("present", asyncFunc(false, func(a *args) func() (any, error) {
		key, cred := a.deviceKey(0, 1), a.str(2, "credential")
		purpose, aud, nonce, now := a.optStr(3, "purpose"), a.optStr(4, "audience"), a.optStr(5, "nonce"), a.optInt(6, "nowMs")
		if a.err != nil {
			return nil
		}
		return func() (any, error) { return s.Present(key, cred, purpose, aud, nonce, now), nil }
	}))

	return api
}

// codedError is a failed Outcome as a Go error, for a rejected Promise.
type codedError struct{ browser.Outcome }

func (e codedError) Error() string { return e.Outcome.Error }

// args reads the arguments of one call, remembering the first problem.
type args struct {
	v   []js.Value
	err error
}

func (a *args) fail(format string, v ...any) {
	if a.err == nil {
		a.err = fmt.Errorf(format, v...)
	}
}

func (a *args) at(i int) js.Value {
	if i < len(a.v) {
		return a.v[i]
	}
	return js.Undefined()
}

// str reads a required string.
func (a *args) str(i int, name string) string {
	v := a.at(i)
	if v.Type() != js.TypeString {
		a.fail("argument %d (%s) must be a string, not %s", i+1, name, v.Type())
		return ""
	}
	return v.String()
}

// optStr reads a string that may be missing, undefined or null ("").
func (a *args) optStr(i int, name string) string {
	if v := a.at(i); v.IsUndefined() || v.IsNull() {
		return ""
	}
	return a.str(i, name)
}

// optInt reads a finite number that may be missing (0), truncated to an
// integer.
func (a *args) optInt(i int, name string) int64 {
	v := a.at(i)
	if v.IsUndefined() || v.IsNull() {
		return 0
	}
	if v.Type() != js.TypeNumber {
		a.fail("argument %d (%s) must be a number, not %s", i+1, name, v.Type())
		return 0
	}
	f := v.Float()
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		a.fail("argument %d (%s) is not a finite number: %v", i+1, name, f)
		return 0
	}
	return int64(f)
}

// optBool reads a flag: JavaScript truthiness.
func (a *args) optBool(i int) bool { return a.at(i).Truthy() }

// byteLen returns the length of a Uint8Array or Uint8ClampedArray.
func (a *args) byteLen(i int, name string) int {
	v := a.at(i)
	if v.Type() != js.TypeObject || !(v.InstanceOf(jsUint8Array) || v.InstanceOf(jsUint8Clamped)) {
		a.fail("argument %d (%s) must be a Uint8Array or Uint8ClampedArray", i+1, name)
		return 0
	}
	return v.Get("length").Int()
}

// bytes copies a Uint8Array or Uint8ClampedArray.
func (a *args) bytes(i int, name string) []byte {
	n := a.byteLen(i, name)
	if a.err != nil {
		return nil
	}
	b := make([]byte, n)
	js.CopyBytesToGo(b, a.at(i))
	return b
}

// deviceKey reads a WebCrypto private CryptoKey, Ed25519 or ECDSA on
// P-256, and its raw public key.
func (a *args) deviceKey(keyAt, pubAt int) *browser.DeviceKey {
	key := a.at(keyAt)
	if key.Type() != js.TypeObject || key.Get("type").String() != "private" || key.Get("algorithm").Type() != js.TypeObject {
		a.fail("argument %d must be a private CryptoKey (Ed25519 or ECDSA P-256)", keyAt+1)
		return nil
	}
	alg := jsObject.New()
	switch algo := key.Get("algorithm"); {
	case algo.Get("name").String() == "Ed25519":
		alg.Set("name", "Ed25519")
	case algo.Get("name").String() == "ECDSA" && algo.Get("namedCurve").String() == "P-256":
		alg.Set("name", "ECDSA")
		alg.Set("hash", "SHA-256")
	default:
		a.fail("argument %d must be an Ed25519 or ECDSA P-256 private CryptoKey", keyAt+1)
		return nil
	}
	pub := a.bytes(pubAt, "raw public key")
	if a.err != nil {
		return nil
	}
	k, err := browser.NewDeviceKey(pub, subtleSign(key, alg))
	if err != nil {
		a.fail("%v", err)
		return nil
	}
	return k
}

// subtleSign signs with crypto.subtle.sign(alg, key, message): alg is
// {name: "Ed25519"} or {name: "ECDSA", hash: "SHA-256"}. It blocks until
// the Promise settles: never call it on the event loop.
func subtleSign(key, alg js.Value) browser.SignFunc {
	return func(message []byte) (sig []byte, err error) {
		defer func() {
			if v := recover(); v != nil {
				sig, err = nil, fmt.Errorf("webcrypto: %v", v)
			}
		}()
		subtle := js.Global().Get("crypto")
		if subtle.Type() == js.TypeObject {
			subtle = subtle.Get("subtle")
		}
		if subtle.Type() != js.TypeObject {
			return nil, errors.New("webcrypto is not available (it needs a secure context: https or localhost)")
		}
		data := jsUint8Array.New(len(message))
		js.CopyBytesToJS(data, message)
		type result struct {
			sig []byte
			err error
		}
		done := make(chan result, 1)
		then := js.FuncOf(func(_ js.Value, v []js.Value) any {
			if len(v) == 0 {
				done <- result{err: errors.New("webcrypto: sign resolved to nothing")}
				return nil
			}
			u := jsUint8Array.New(v[0])
			b := make([]byte, u.Get("length").Int())
			js.CopyBytesToGo(b, u)
			done <- result{sig: b}
			return nil
		})
		defer then.Release()
		catch := js.FuncOf(func(_ js.Value, v []js.Value) any {
			msg := "rejected"
			if len(v) > 0 {
				msg = js.Global().Get("String").Invoke(v[0]).String()
			}
			done <- result{err: errors.New("webcrypto: " + msg)}
			return nil
		})
		defer catch.Release()
		subtle.Call("sign", alg, key, data).Call("then", then, catch)
		select {
		case r := <-done:
			return r.sig, r.err
		case <-time.After(signTimeout):
			return nil, fmt.Errorf("webcrypto: no signature after %v", signTimeout)
		}
	}
}

// toJS turns a result into a plain JavaScript value through JSON.
func toJS(v any) js.Value {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(browser.Fail(browser.CodeInternal, err))
	}
	return jsJSON.Call("parse", string(b))
}

// syncFunc wraps a synchronous function. f returns nil after recording an
// argument problem in a.err.
func syncFunc(f func(a *args) any) js.Func {
	return js.FuncOf(func(_ js.Value, v []js.Value) (ret any) {
		defer func() {
			if p := recover(); p != nil {
				ret = toJS(browser.Recovered(p))
			}
		}()
		a := &args{v: v}
		out := f(a)
		if a.err != nil {
			return toJS(browser.Fail(browser.CodeBadInput, a.err))
		}
		return toJS(out)
	})
}

// asyncFunc wraps a function that signs: f reads the arguments on the
// event loop and returns the work, which runs on its own goroutine. The
// Promise resolves to the work's result, or rejects with an Error whose
// code property is the failure code. Bad arguments reject the same way
// when rejectBad is set (a function that resolves to a string), and
// otherwise resolve to an ok:false object.
func asyncFunc(rejectBad bool, f func(a *args) func() (any, error)) js.Func {
	return js.FuncOf(func(_ js.Value, v []js.Value) (ret any) {
		defer func() {
			if p := recover(); p != nil {
				ret = resolved(toJS(browser.Recovered(p)))
			}
		}()
		a := &args{v: v}
		work := f(a)
		if a.err != nil || work == nil {
			bad := browser.Fail(browser.CodeBadInput, a.err)
			if rejectBad {
				return jsPromise.Call("reject", jsErr(codedError{bad}))
			}
			return resolved(toJS(bad))
		}
		var executor js.Func
		executor = js.FuncOf(func(_ js.Value, pv []js.Value) any {
			resolve, reject := pv[0], pv[1]
			go func() {
				defer func() {
					if p := recover(); p != nil {
						reject.Invoke(jsErr(codedError{browser.Recovered(p)}))
					}
				}()
				out, err := work()
				if err != nil {
					reject.Invoke(jsErr(err))
					return
				}
				if s, isStr := out.(string); isStr {
					resolve.Invoke(s)
					return
				}
				resolve.Invoke(toJS(out))
			}()
			return nil
		})
		p := jsPromise.New(executor) // runs the executor before returning
		executor.Release()
		return p
	})
}

// resolved returns a Promise already resolved to v.
func resolved(v js.Value) js.Value { return jsPromise.Call("resolve", v) }

// jsErr converts err to a JavaScript Error, with the failure code as its
// code property when there is one.
func jsErr(err error) js.Value {
	e := jsError.New(err.Error())
	var c codedError
	if errors.As(err, &c) {
		e.Set("code", string(c.Code))
	} else {
		e.Set("code", string(browser.CodeInternal))
	}
	return e
}
