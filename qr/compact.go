package qr

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// CompactPrefix starts a compact packed presentation, the form [Pack] makes
// of a well-formed SD-JWT presentation. It is followed by decimal digits
// only, so the code still reads through a USB scanner that types what it
// scans.
//
// The digits carry the presentation's bytes, not its characters: each
// base64url segment is decoded (6 bits a character become 8 bits a byte),
// the segments and their separators are framed, the whole is compressed
// with DEFLATE (the JSON of the headers and payloads shrinks; signatures do
// not), and every 7 bytes of the result become 17 digits, which a numeric
// QR segment holds at 10 bits per 3 digits: 8.1 bits a byte. The default
// holder-bound presentation of 1,096 characters becomes about 1,640 digits,
// QR version 22 at level M instead of 25 with [PackedPrefix] and 27 raw.
const CompactPrefix = "ep2:"

// maxUnpacked caps the size of an unpacked presentation (a DEFLATE stream
// cannot expand without bound).
const maxUnpacked = 64 << 10

// Frame bytes that follow each segment inside a compact presentation.
const (
	frameDot   = 0 // a '.' follows
	frameTilde = 1 // a '~' follows
	frameEnd   = 2 // the last segment
)

// digitsFor[k] is the number of digits that carry a chunk of k bytes: the
// digits of 2^(8k)-1. They are all different, so the digit count of the
// last chunk says how many bytes it holds.
var digitsFor = [8]int{0, 3, 5, 8, 10, 13, 15, 17}

var b64 = base64.RawURLEncoding.Strict()

// packCompact returns text in the compact form, or false when text is not
// made of canonical base64url segments separated by '.' and '~', which the
// compact form could not give back byte for byte.
func packCompact(text string) (string, bool) {
	var framed bytes.Buffer
	rest := text
	for {
		i := strings.IndexAny(rest, ".~")
		seg := rest
		if i >= 0 {
			seg = rest[:i]
		}
		raw, err := b64.DecodeString(seg)
		if err != nil || b64.EncodeToString(raw) != seg {
			return "", false
		}
		framed.Write(binary.AppendUvarint(nil, uint64(len(raw))))
		framed.Write(raw)
		if i < 0 {
			framed.WriteByte(frameEnd)
			break
		}
		if rest[i] == '.' {
			framed.WriteByte(frameDot)
		} else {
			framed.WriteByte(frameTilde)
		}
		rest = rest[i+1:]
	}
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	w.Write(framed.Bytes())
	w.Close()
	data := z.Bytes()

	var b strings.Builder
	b.Grow(len(CompactPrefix) + len(data)/7*17 + 17)
	b.WriteString(CompactPrefix)
	for len(data) > 0 {
		k := min(7, len(data))
		var v uint64
		for _, c := range data[:k] {
			v = v<<8 | uint64(c)
		}
		fmt.Fprintf(&b, "%0*d", digitsFor[k], v)
		data = data[k:]
	}
	return b.String(), true
}

// unpackCompact reverses packCompact.
func unpackCompact(s string) (string, error) {
	digits := s[len(CompactPrefix):]
	full, rem := len(digits)/17, len(digits)%17
	last := -1
	for k, d := range digitsFor {
		if d == rem {
			last = k
		}
	}
	if len(digits) == 0 || last < 0 {
		return "", fmt.Errorf("%w: %d digits is not a whole number of chunks", ErrBadPacked, len(digits))
	}
	data := make([]byte, 0, full*7+last)
	for len(digits) > 0 {
		n := 17
		if len(digits) < 17 {
			n = len(digits)
		}
		k := 7
		if n < 17 {
			k = last
		}
		var v uint64
		for i := 0; i < n; i++ {
			c := digits[i]
			if c < '0' || c > '9' {
				return "", fmt.Errorf("%w: non-digit %q", ErrBadPacked, c)
			}
			d := uint64(c - '0')
			if v > (1<<64-1-d)/10 {
				return "", fmt.Errorf("%w: chunk out of range", ErrBadPacked)
			}
			v = v*10 + d
		}
		if k < 8 && v>>(8*uint(k)) != 0 {
			return "", fmt.Errorf("%w: chunk out of range", ErrBadPacked)
		}
		for i := k - 1; i >= 0; i-- {
			data = append(data, byte(v>>(8*uint(i))))
		}
		digits = digits[n:]
	}
	framed, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(data)), maxUnpacked+1))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadPacked, err)
	}
	if len(framed) > maxUnpacked {
		return "", fmt.Errorf("%w: unpacks to more than %d bytes", ErrBadPacked, maxUnpacked)
	}
	var out strings.Builder
	for {
		n, used := binary.Uvarint(framed)
		if used <= 0 || n > uint64(len(framed)-used-1) {
			return "", fmt.Errorf("%w: bad framing", ErrBadPacked)
		}
		framed = framed[used:]
		out.WriteString(b64.EncodeToString(framed[:n]))
		sep := framed[n]
		framed = framed[n+1:]
		switch sep {
		case frameDot:
			out.WriteByte('.')
		case frameTilde:
			out.WriteByte('~')
		case frameEnd:
			if len(framed) != 0 {
				return "", fmt.Errorf("%w: data after the end", ErrBadPacked)
			}
			return out.String(), nil
		default:
			return "", fmt.Errorf("%w: bad framing", ErrBadPacked)
		}
	}
}
