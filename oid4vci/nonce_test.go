package oid4vci

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestProofNonce(t *testing.T) {
	t.Parallel()
	p, err := NewProof(holder, aud, "n0nce", now)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ProofNonce(p); err != nil || n != "n0nce" {
		t.Fatalf("%q %v", n, err)
	}
	// The nonce it reads is the one VerifyProof then checks.
	if _, err := VerifyProof(p, aud, "n0nce", now, MaxClockSkew); err != nil {
		t.Fatal(err)
	}
	without, _ := NewProof(holder, aud, "", now)
	if n, err := ProofNonce(without); err != nil || n != "" {
		t.Fatalf("without nonce: %q %v", n, err)
	}
	if n, err := ProofNonce(forge(`{}`, ` {"nonce":"sp"}`)); err != nil || n != "sp" {
		t.Fatalf("payload with leading space: %q %v", n, err)
	}
	for name, jwt := range map[string]string{
		"empty":              "",
		"two segments":       "a.b",
		"four segments":      "a.b.c.d",
		"payload not base64": "e30.!!.x",
		"payload not JSON":   forge(`{}`, `nonce`),
		"payload an array":   forge(`{}`, `["nonce"]`),
		"payload null":       forge(`{}`, `null`),
		"numeric nonce":      forge(`{}`, `{"nonce":1}`),
		"duplicate nonce":    forge(`{}`, `{"nonce":"a","nonce":"b"}`),
		"case variant nonce": forge(`{}`, `{"Nonce":"a"}`),
		"oversized":          strings.Repeat("a", maxProofLen+1),
	} {
		if n, err := ProofNonce(jwt); CodeOf(err) != CodeInvalidProof {
			t.Errorf("%s: %q %v", name, n, err)
		}
	}
}

func FuzzProofNonce(f *testing.F) {
	p, _ := NewProof(holder, aud, "n0nce", now)
	f.Add(p)
	f.Add(forge(`{}`, `{"nonce":"a","nonce":"b"}`))
	f.Fuzz(func(t *testing.T, jwt string) {
		n, err := ProofNonce(jwt)
		if err != nil && (n != "" || CodeOf(err) != CodeInvalidProof) {
			t.Fatalf("%q %v", n, err)
		}
	})
}

func TestParseNonceResponse(t *testing.T) {
	t.Parallel()
	r, err := ParseNonceResponse([]byte(`{"c_nonce":"wKI4LT17ac15ES9bw8ac4","c_nonce_expires_in":60}`))
	if err != nil || r.CNonce != "wKI4LT17ac15ES9bw8ac4" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, in := range []string{`{}`, `{"c_nonce":""}`, `{"c_nonce":1}`, `{"c_nonce":"a","C_NONCE":"b"}`, `[]`, ``} {
		if _, err := ParseNonceResponse([]byte(in)); err == nil {
			t.Errorf("accepted %s", in)
		}
	}
}

func TestErrorWithNonce(t *testing.T) {
	t.Parallel()
	b, _ := json.Marshal(&Error{Code: CodeInvalidProof, Description: "d", CNonce: "n", CNonceExpiresIn: 300})
	if string(b) != `{"error":"invalid_proof","error_description":"d","c_nonce":"n","c_nonce_expires_in":300}` {
		t.Fatal(string(b))
	}
}
