// Package httpgzip holds the two halves of sending a stored document
// gzip-compressed: compressing it once, and reading whether a request
// takes gzip.
package httpgzip

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
)

// Compress returns body compressed with gzip at the best compression, or
// nil when that is not smaller than body.
func Compress(body []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // the level is valid
	zw.Write(body)                                         // writes to a bytes.Buffer do not fail
	zw.Close()
	if b.Len() >= len(body) {
		return nil
	}
	return b.Bytes()
}

// Accepted reports whether the request's Accept-Encoding takes gzip: it
// names gzip with a quality other than 0.
func Accepted(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
