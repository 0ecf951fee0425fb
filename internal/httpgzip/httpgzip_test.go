package httpgzip

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCompress(t *testing.T) {
	t.Parallel()
	body := []byte(strings.Repeat(`{"kty":"OKP","crv":"Ed25519"}`, 20))
	gz := Compress(body)
	if gz == nil || len(gz) >= len(body) {
		t.Fatalf("%d -> %d bytes", len(body), len(gz))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(back, body) {
		t.Fatalf("round trip: %v", err)
	}
	if Compress([]byte("{}")) != nil {
		t.Fatal("a body that does not shrink was compressed")
	}
}

func TestAccepted(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]bool{
		"":                       false,
		"gzip":                   true,
		"GZIP":                   true,
		"br, gzip;q=0.8":         true,
		"deflate, gzip ; q=0.5":  true,
		"gzip;q=0":               false,
		"gzip; q = 0":            false,
		"br, deflate":            false,
		"x-gzip":                 false,
		"identity;q=1, *;q=0.1":  false,
		"gzip;q=0.001, identity": true,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", header)
		if got := Accepted(r); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", header, got, want)
		}
	}
}
