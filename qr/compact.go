package qr

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
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
// QR segment holds at 10 bits per 3 digits: 8.1 bits a byte.
//
// Two things make "ep3:" shorter than "ep2:", which [Unpack] still reads.
// The digests a reader can compute are left out: the KB-JWT's sd_hash (the
// digest of the presentation before it) and, in the issuer's payload, the
// digest of each disclosure the presentation carries; the frame says where
// to put them back. And DEFLATE starts from a preset dictionary
// (compactDict) of what every e-permit presentation holds: the JOSE
// headers, the claim names, the group members, Chinese place names. A
// public-service presentation (one disclosure) of 1,424 characters takes
// about 1,500 digits instead of 2,200: QR version 21 at level M instead of
// 25.
const CompactPrefix = "ep3:"

// compactPrefixV2 is the compact form before ep3: no digests left out, no
// dictionary. Unpack reads it; Pack no longer writes it.
const compactPrefixV2 = "ep2:"

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

// digestLen is the length of a base64url SHA-256 digest.
const digestLen = 43

// frameSeg is one base64url segment of a presentation, decoded, with the
// separator that follows it.
type frameSeg struct {
	raw []byte
	sep byte // frameDot, frameTilde or frameEnd
}

// hole is a digest left out of a segment: it goes back at offset (in the
// segment without it) of segment seg. Source 0 is the KB-JWT's sd_hash;
// source k > 0 the digest of the k-th disclosure.
type hole struct {
	seg, offset, source int
}

// maxHoles bounds the holes a frame may announce: one per disclosure, and
// the sd_hash.
const maxHoles = 65

// packCompact returns text in the compact form, or false when text is not
// made of canonical base64url segments separated by '.' and '~', which the
// compact form could not give back byte for byte.
func packCompact(text string) (string, bool) {
	var segs []frameSeg
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
		s := frameSeg{raw: raw, sep: frameEnd}
		if i >= 0 {
			s.sep = frameDot
			if rest[i] == '~' {
				s.sep = frameTilde
			}
		}
		segs = append(segs, s)
		if i < 0 {
			break
		}
		rest = rest[i+1:]
	}
	holes := elide(text, segs)

	var framed []byte
	framed = binary.AppendUvarint(framed, uint64(len(holes)))
	for _, h := range holes {
		framed = binary.AppendUvarint(framed, uint64(h.seg))
		framed = binary.AppendUvarint(framed, uint64(h.offset))
		framed = binary.AppendUvarint(framed, uint64(h.source))
	}
	for _, s := range segs {
		framed = binary.AppendUvarint(framed, uint64(len(s.raw)))
		framed = append(framed, s.raw...)
		framed = append(framed, s.sep)
	}
	var z bytes.Buffer
	w, _ := flate.NewWriterDict(&z, flate.BestCompression, []byte(compactDict))
	w.Write(framed)
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

// parts groups segments by the '~' before them: part 0 is the issuer JWT,
// parts 1 to n-1 the disclosures, part n the KB-JWT (n = the number of
// '~'). It returns, for each segment, its part, and n.
func parts(segs []frameSeg) (partOf []int, n int) {
	partOf = make([]int, len(segs))
	for i, s := range segs {
		partOf[i] = n
		if s.sep == frameTilde {
			n++
		}
	}
	return partOf, n
}

// elide takes out of segs the digests a reader can compute from the rest
// of the presentation text, and returns where they were: each disclosure's
// digest in the issuer's payload (the second segment of part 0), the
// sd_hash in the KB-JWT's payload (the second segment of the last part).
// Only a digest in quotes, as a JSON string, is taken.
func elide(text string, segs []frameSeg) []hole {
	partOf, n := parts(segs)
	if n == 0 {
		return nil
	}
	tilde := strings.Split(text, "~")
	var holes []hole
	take := func(seg int, want map[string]int) {
		if seg >= len(segs) {
			return
		}
		var found []hole
		raw := segs[seg].raw
		for dg, source := range want {
			if i := bytes.Index(raw, []byte(`"`+dg+`"`)); i >= 0 {
				found = append(found, hole{seg: seg, offset: i + 1, source: source})
			}
		}
		slices.SortFunc(found, func(a, b hole) int { return a.offset - b.offset })
		var out []byte
		last, removed := 0, 0
		for _, h := range found {
			if h.offset < last {
				continue // overlaps the one before (the same digest twice)
			}
			out = append(out, raw[last:h.offset]...)
			last = h.offset + digestLen
			h.offset -= removed
			removed += digestLen
			holes = append(holes, h)
		}
		segs[seg].raw = append(out, raw[last:]...)
	}
	// The issuer's payload: part 0 is header.payload.signature.
	if len(segs) > 1 && partOf[1] == 0 {
		want := map[string]int{}
		for k := 1; k < n; k++ {
			want[digest(tilde[k])] = k
		}
		take(1, want)
	}
	// The KB-JWT's payload: the second segment of the last part.
	first := slices.Index(partOf, n)
	if first >= 0 && first+1 < len(segs) && partOf[first+1] == n {
		take(first+1, map[string]int{digest(text[:strings.LastIndexByte(text, '~')+1]): 0})
	}
	return holes
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// unpackCompact reverses packCompact, for either compact prefix.
func unpackCompact(s string) (string, error) {
	v3 := hasPrefixFold(s, CompactPrefix)
	data, err := digitsToBytes(s[len(CompactPrefix):])
	if err != nil {
		return "", err
	}
	var dict []byte
	if v3 {
		dict = []byte(compactDict)
	}
	framed, err := inflate(data, dict)
	if err != nil {
		return "", err
	}
	var holes []hole
	if v3 {
		if holes, framed, err = readHoles(framed); err != nil {
			return "", err
		}
	}
	var segs []frameSeg
	for {
		n, used := binary.Uvarint(framed)
		if used <= 0 || n > uint64(len(framed)-used-1) {
			return "", fmt.Errorf("%w: bad framing", ErrBadPacked)
		}
		framed = framed[used:]
		s := frameSeg{raw: framed[:n], sep: framed[n]}
		framed = framed[n+1:]
		if s.sep > frameEnd {
			return "", fmt.Errorf("%w: bad framing", ErrBadPacked)
		}
		segs = append(segs, s)
		if s.sep == frameEnd {
			if len(framed) != 0 {
				return "", fmt.Errorf("%w: data after the end", ErrBadPacked)
			}
			break
		}
	}
	if err := fill(segs, holes); err != nil {
		return "", err
	}
	return join(segs), nil
}

// digitsToBytes reads the 17-digit chunks of a compact presentation.
func digitsToBytes(digits string) ([]byte, error) {
	full, rem := len(digits)/17, len(digits)%17
	last := -1
	for k, d := range digitsFor {
		if d == rem {
			last = k
		}
	}
	if len(digits) == 0 || last < 0 {
		return nil, fmt.Errorf("%w: %d digits is not a whole number of chunks", ErrBadPacked, len(digits))
	}
	data := make([]byte, 0, full*7+last)
	for len(digits) > 0 {
		n := min(17, len(digits))
		k := 7
		if n < 17 {
			k = last
		}
		var v uint64
		for i := 0; i < n; i++ {
			c := digits[i]
			if c < '0' || c > '9' {
				return nil, fmt.Errorf("%w: non-digit %q", ErrBadPacked, c)
			}
			d := uint64(c - '0')
			if v > (1<<64-1-d)/10 {
				return nil, fmt.Errorf("%w: chunk out of range", ErrBadPacked)
			}
			v = v*10 + d
		}
		if k < 8 && v>>(8*uint(k)) != 0 {
			return nil, fmt.Errorf("%w: chunk out of range", ErrBadPacked)
		}
		for i := k - 1; i >= 0; i-- {
			data = append(data, byte(v>>(8*uint(i))))
		}
		digits = digits[n:]
	}
	return data, nil
}

// inflaters keeps DEFLATE readers: each holds a 32 KiB window and tables
// that a counter reading packed codes one after another need not allocate
// again.
var inflaters sync.Pool

// inflate decompresses data with the preset dictionary dict (nil for none),
// to at most maxUnpacked bytes.
func inflate(data, dict []byte) ([]byte, error) {
	src := bytes.NewReader(data)
	r, _ := inflaters.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReaderDict(src, dict)
	} else if err := r.(flate.Resetter).Reset(src, dict); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPacked, err)
	}
	defer inflaters.Put(r)
	out, err := io.ReadAll(io.LimitReader(r, maxUnpacked+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPacked, err)
	}
	if len(out) > maxUnpacked {
		return nil, fmt.Errorf("%w: unpacks to more than %d bytes", ErrBadPacked, maxUnpacked)
	}
	return out, nil
}

// readHoles reads the holes at the start of an ep3 frame.
func readHoles(framed []byte) ([]hole, []byte, error) {
	next := func() (int, bool) {
		v, used := binary.Uvarint(framed)
		if used <= 0 || v > maxUnpacked {
			return 0, false
		}
		framed = framed[used:]
		return int(v), true
	}
	n, ok := next()
	if !ok || n > maxHoles {
		return nil, nil, fmt.Errorf("%w: bad framing", ErrBadPacked)
	}
	holes := make([]hole, n)
	for i := range holes {
		var ok1, ok2, ok3 bool
		holes[i].seg, ok1 = next()
		holes[i].offset, ok2 = next()
		holes[i].source, ok3 = next()
		if !ok1 || !ok2 || !ok3 {
			return nil, nil, fmt.Errorf("%w: bad framing", ErrBadPacked)
		}
	}
	return holes, framed, nil
}

// fill puts the digests back into the holes of segs: the disclosures'
// into the issuer JWT, then the sd_hash of the result into the KB-JWT.
func fill(segs []frameSeg, holes []hole) error {
	partOf, n := parts(segs)
	for i, h := range holes {
		bad := h.seg >= len(segs) || h.offset > len(segs[h.seg].raw) ||
			i > 0 && (h.seg < holes[i-1].seg || h.seg == holes[i-1].seg && h.offset < holes[i-1].offset)
		if !bad && h.source == 0 {
			bad = n == 0 || partOf[h.seg] != n
		} else if !bad {
			bad = h.source >= n || partOf[h.seg] != 0
		}
		if bad {
			return fmt.Errorf("%w: bad digest position", ErrBadPacked)
		}
	}
	put := func(which func(h hole) bool, value func(h hole) string) {
		for i := len(holes) - 1; i >= 0; i-- { // from the end: offsets stay right
			h := holes[i]
			if which(h) {
				raw := segs[h.seg].raw
				segs[h.seg].raw = slices.Concat(raw[:h.offset], []byte(value(h)), raw[h.offset:])
			}
		}
	}
	// The disclosures (parts 1 to n-1) have no holes: their digests are
	// those of their text.
	var start []int // the first segment of each part
	for i := range segs {
		if i == 0 || partOf[i] != partOf[i-1] {
			start = append(start, i)
		}
	}
	put(func(h hole) bool { return h.source > 0 }, func(h hole) string {
		end := len(segs)
		if h.source+1 < len(start) {
			end = start[h.source+1]
		}
		return digest(strings.TrimSuffix(join(segs[start[h.source]:end]), "~"))
	})
	put(func(h hole) bool { return h.source == 0 }, func(hole) string {
		return digest(join(segs[:start[n]]))
	})
	return nil
}

// join writes segs as base64url text with their separators.
func join(segs []frameSeg) string {
	var out strings.Builder
	for _, s := range segs {
		out.WriteString(b64.EncodeToString(s.raw))
		switch s.sep {
		case frameDot:
			out.WriteByte('.')
		case frameTilde:
			out.WriteByte('~')
		}
	}
	return out.String()
}

// compactDict is the preset dictionary of the ep3 form: text that the JSON
// of every e-permit presentation shares (docs/credential-format.md), so that
// DEFLATE refers to it instead of spelling it out. Changing it changes what
// every ep3 code means: a new dictionary needs a new prefix. The strings an
// encoder finds most often come last, where the distances to them are
// shortest.
const compactDict = "" +
	// Chinese addresses: provincial-level divisions, Zhejiang's cities
	// (residence addresses are in Zhejiang; household ones anywhere), and
	// the words of an address.
	"北京市天津市河北省山西省内蒙古自治区辽宁省吉林省黑龙江省上海市江苏省安徽省福建省江西省山东省河南省湖北省湖南省" +
	"广东省广西壮族自治区海南省重庆市四川省贵州省云南省西藏自治区陕西省甘肃省青海省宁夏回族自治区新疆维吾尔自治区" +
	"浙江省杭州市宁波市温州市嘉兴市湖州市绍兴市金华市衢州市舟山市台州市丽水市" +
	"县镇乡村街道社区小区大道路街巷弄号院栋幢单元楼层室" +
	// The disclosures: residence and identity groups.
	`","hd":"","rs":"20","bs":["employment","residence","study"],"isd":"20` +
	`"res",{"ra":"","ha":"` + `"idn",{"id":"","eth":"0","ph":"` +
	// The KB-JWT, with either holder key.
	`{"alg":"ES256","typ":"kb+jwt"}{"alg":"EdDSA","typ":"kb+jwt"}` +
	`{"iat":17,"aud":"urn:epermit:any","nonce":"","sd_hash":""}` +
	// The issuer JWT.
	`{"alg":"EdDSA","typ":"dc+sd-jwt","kid":""}` +
	`{"iss":"https://ep.zjga.gov.cn/","vct":"urn:epermit:rp:1","iat":17,"exp":18,` +
	`"status":{"status_list":{"idx":,"uri":"https://ep.zjga.gov.cn//status/"}},` +
	`"cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"","y":""}},` +
	`"cnf":{"jwk":{"kty":"OKP","crv":"Ed25519","x":""}},` +
	`"nm":"","idm":"********","rg":"33","pn":"33","_sd":["","`
