package browser

import (
	"fmt"
	"runtime/debug"
	"time"
)

// Code is the stable identifier of why a call failed; see the package
// documentation for the list.
type Code string

// Failure codes.
const (
	CodeBadInput          Code = "bad_input"
	CodeInternal          Code = "internal"
	CodeRollback          Code = "rollback"
	CodeRootMismatch      Code = "root_mismatch"
	CodeBadSignature      Code = "bad_signature"
	CodeInvalid           Code = "invalid"
	CodeNoTrust           Code = "no_trust"
	CodeUnknownKey        Code = "unknown_key"
	CodeNoCode            Code = "no_code"
	CodeMultipleCodes     Code = "multiple_codes"
	CodeTooLarge          Code = "too_large"
	CodeTooLong           Code = "too_long"
	CodeInvalidCredential Code = "invalid_credential"
	CodeIssuerSignature   Code = "issuer_signature"
	CodeNotMyKey          Code = "not_my_key"
	CodeUnknownPurpose    Code = "unknown_purpose"
	CodePurposeRefused    Code = "purpose_refused"
	CodeMissingGroup      Code = "missing_group"
	CodeKeyMismatch       Code = "key_mismatch"
	CodeSignFailed        Code = "sign_failed"
	CodeUntrustedIssuer   Code = "untrusted_issuer"
)

// Outcome is the part every result shares: OK, or an English error with
// its Code. It is embedded in the result types, so its fields sit at the
// top level of their JSON.
type Outcome struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Code  Code   `json:"code,omitempty"`
}

// Fail returns the Outcome of a call that failed with err, classified as
// code.
func Fail(code Code, err error) Outcome {
	msg := "failed"
	if err != nil {
		msg = err.Error()
	}
	return Outcome{Error: msg, Code: code}
}

// Recovered returns the Outcome for a panic value caught at the edge, such
// as in a JavaScript wrapper: always an internal error.
func Recovered(v any) Outcome {
	return Outcome{Error: fmt.Sprintf("browser: internal error: %v", v), Code: CodeInternal}
}

var ok = Outcome{OK: true}

// Version identifies the build: the module version, or for a development
// build the VCS revision (with "+dirty" for uncommitted changes).
func Version() string {
	bi, found := debug.ReadBuildInfo()
	if !found {
		return "devel"
	}
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev + dirty
}

// timeOf converts JavaScript milliseconds to a time; 0 or less means now.
func timeOf(ms int64) time.Time {
	if ms <= 0 {
		return time.Now()
	}
	return time.UnixMilli(ms)
}

// msOf converts a time to JavaScript milliseconds; the zero time is 0.
func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
