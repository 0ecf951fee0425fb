package jws

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// maxDepth bounds the nesting of JSON values accepted by DecodeStrict.
const maxDepth = 32

// ErrStrictJSON is wrapped by every error DecodeStrict returns: for input
// that encoding/json would accept but that is ambiguous or unexpected, and
// for input that is not JSON or does not fit v.
var ErrStrictJSON = errors.New("strict json")

// DecodeStrict decodes JSON into v, refusing what encoding/json lets through
// silently: duplicate member names (also when they differ only in case), a
// member whose name matches a struct field only case-insensitively, and
// nesting deeper than 32 levels. Members a struct does not name are ignored,
// as JWT claims and JOSE headers require; since no case variant of a known
// name gets through, an ignored member cannot be read as a known one.
// It is meant for payloads whose signature has been verified: no other
// parser may read them differently from us.
//
// The scan that enforces this validates the whole document and fills v in
// the same pass when v's type is made of structs, strings, booleans,
// numbers, json.RawMessage, empty interfaces, maps with string keys, and
// pointers to and slices of these: every header, claim set and disclosure
// a verification decodes. encoding/json decodes values of any other type
// (arrays, []byte, ",string" fields, embedded structs, types with their
// own UnmarshalJSON or UnmarshalText) after the scan. The result is what
// encoding/json.Unmarshal gives, into a zero value, for every input the
// scan accepts (FuzzDecodeStrictMatchesJSON).
func DecodeStrict(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("jws: DecodeStrict needs a non-nil pointer, got %T", v)
	}
	sh := shapeOf(rv.Type().Elem())
	var target reflect.Value
	if sh.fast {
		target = rv.Elem()
	}
	if err := scan(data, sh, target); err != nil {
		return err
	}
	if sh.fast {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrStrictJSON, err)
	}
	return nil
}

// scan checks data strictly against the shape sh and, when target is
// valid, decodes it into target.
func scan(data []byte, sh *shape, target reflect.Value) error {
	s := scanner{data: data}
	if target.IsValid() {
		// One copy of the document: the strings decoded from it are
		// slices of this one, not an allocation each.
		s.text = string(data)
	}
	s.skipSpace()
	if err := s.value(sh, 0, target); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos != len(s.data) {
		return fmt.Errorf("%w: trailing data at offset %d", ErrStrictJSON, s.pos)
	}
	return nil
}

// Marshal encodes v as compact JSON without HTML escaping, so that '<', '>'
// and '&' in names and addresses stay as they are.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("jws: marshal: %w", err)
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // Encode appends a newline
}

// shape describes which member names a Go type accepts, and whether the
// scan can fill a value of it.
type shape struct {
	kind   reflect.Kind
	fields map[string]field // struct: exact JSON name to field
	names  [][]byte         // struct: the JSON names, for case-folded comparison
	elem   *shape           // map, slice, array, pointer target
	// fast: the scan fills values of this type, pointers to it included,
	// itself. See DecodeStrict for which types are.
	fast bool
	// raw: json.RawMessage, filled with a copy of the value's bytes.
	raw bool
}

// field is the struct field a member name selects.
type field struct {
	sh    *shape
	index int // in the struct; only meaningful when the struct is fast
}

var shapes sync.Map // reflect.Type -> *shape

// opaqueShape is a value the scan checks for duplicate names only: a member
// no struct field names, or a type that decodes itself.
var opaqueShape = &shape{kind: reflect.Invalid}

// genericShape is the empty interface: objects become map[string]any,
// arrays []any, numbers float64, as encoding/json makes them.
var genericShape = &shape{kind: reflect.Interface, fast: true}

func init() { genericShape.elem = genericShape }

func shapeOf(t reflect.Type) *shape {
	if sh, ok := shapes.Load(t); ok {
		return sh.(*shape)
	}
	sh := buildShape(t, map[reflect.Type]*shape{})
	shapes.Store(t, sh)
	return sh
}

var (
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
	numberType          = reflect.TypeFor[json.Number]()
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawMessageShape     = &shape{kind: reflect.Slice, fast: true, raw: true, elem: opaqueShape}
)

func buildShape(t reflect.Type, seen map[reflect.Type]*shape) *shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if sh, ok := seen[t]; ok {
		return sh // a type that holds itself: not fast, as sh.fast is still false
	}
	switch {
	case t == rawMessageType:
		return rawMessageShape
	case t == numberType, reflect.PointerTo(t).Implements(unmarshalerType), reflect.PointerTo(t).Implements(textUnmarshalerType):
		return opaqueShape // decodes itself: still checked for duplicates
	case t.Kind() == reflect.Interface:
		if t.NumMethod() == 0 {
			return genericShape
		}
		return &shape{kind: reflect.Interface, elem: opaqueShape}
	}
	sh := &shape{kind: t.Kind()}
	seen[t] = sh
	fast := false
	switch t.Kind() {
	case reflect.Struct:
		sh.fields = map[string]field{}
		fast = addFields(sh, t, seen)
	case reflect.Slice:
		sh.elem = buildShape(t.Elem(), seen)
		// []byte is base64 text to encoding/json.
		fast = sh.elem.fast && t.Elem().Kind() != reflect.Uint8
	case reflect.Map:
		sh.elem = buildShape(t.Elem(), seen)
		fast = sh.elem.fast && t.Key().Kind() == reflect.String && !reflect.PointerTo(t.Key()).Implements(textUnmarshalerType)
	case reflect.Array:
		sh.elem = buildShape(t.Elem(), seen)
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		fast = true
	}
	sh.fast = fast
	return sh
}

// addFields adds the fields of struct type t to sh and reports whether
// the scan can fill the struct: no embedded struct, no ",string" option,
// no two fields of one name, and fields of fast types only.
func addFields(sh *shape, t reflect.Type, seen map[reflect.Type]*shape) (fast bool) {
	fast = true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				fast = false // encoding/json's rules for embedded fields
				addFields(sh, ft, seen)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := sh.fields[name]; dup || strings.Contains(opts, "string") {
			fast = false
		}
		fs := buildShape(f.Type, seen)
		fast = fast && fs.fast
		sh.fields[name] = field{sh: fs, index: i}
		sh.names = append(sh.names, []byte(name))
	}
	return fast
}

type scanner struct {
	data []byte
	// text is data as a string when values are filled; strings without
	// escapes are slices of it.
	text string
	pos  int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrStrictJSON, s.pos, fmt.Sprintf(format, args...))
}

// mismatch reports a JSON value of the wrong type for v.
func (s *scanner) mismatch(what string, v reflect.Value) error {
	return s.errorf("cannot decode %s into %s", what, v.Type())
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value scans the value at s.pos against sh and, when v is valid (sh is
// fast and v settable), stores it in v as encoding/json would.
func (s *scanner) value(sh *shape, depth int, v reflect.Value) error {
	if depth > maxDepth {
		return s.errorf("nesting deeper than %d", maxDepth)
	}
	if s.pos >= len(s.data) {
		return s.errorf("unexpected end of input")
	}
	c := s.data[s.pos]
	// A pointer takes null as nil (below); anything else goes to its
	// target, allocated if need be.
	for v.IsValid() && v.Kind() == reflect.Pointer && c != 'n' {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if v.IsValid() {
		switch {
		case sh.raw && v.Kind() == reflect.Slice:
			start := s.pos
			if err := s.value(opaqueShape, depth, reflect.Value{}); err != nil {
				return err
			}
			v.SetBytes(bytes.Clone(s.data[start:s.pos]))
			return nil
		case v.Kind() == reflect.Interface:
			return s.intoInterface(depth, v)
		}
	}
	switch {
	case c == '{':
		if v.IsValid() && v.Kind() != reflect.Struct && v.Kind() != reflect.Map {
			return s.mismatch("an object", v)
		}
		return s.fillObject(sh, depth, v)
	case c == '[':
		return s.fillArray(sh, depth, v)
	case c == '"':
		if !v.IsValid() {
			start, end, escaped, err := s.str()
			if err == nil && escaped {
				_, err = s.unescape(start, end) // its escapes must be valid too
			}
			return err
		}
		str, err := s.strValue()
		if err != nil {
			return err
		}
		if v.Kind() != reflect.String {
			return s.mismatch("a string", v)
		}
		v.SetString(str)
		return nil
	default:
		tok, err := s.literalToken()
		if err != nil || !v.IsValid() {
			return err
		}
		return s.literal(tok, v)
	}
}

// intoInterface decodes the value at s.pos into the empty interface v.
func (s *scanner) intoInterface(depth int, v reflect.Value) error {
	// encoding/json decodes into what a non-nil pointer held by the
	// interface points to (a null sets a pointer to a non-pointer to nil).
	if !v.IsNil() {
		if e := v.Elem(); e.Kind() == reflect.Pointer && !e.IsNil() &&
			(s.data[s.pos] != 'n' || e.Elem().Kind() == reflect.Pointer) {
			sh := shapeOf(e.Type())
			if sh.fast {
				return s.value(sh, depth, e)
			}
			start := s.pos
			if err := s.value(sh, depth, reflect.Value{}); err != nil {
				return err
			}
			if err := json.Unmarshal(s.data[start:s.pos], e.Interface()); err != nil {
				return s.errorf("%v", err)
			}
			return nil
		}
	}
	x, err := s.generic(depth)
	if err != nil {
		return err
	}
	if x == nil {
		v.SetZero()
	} else {
		v.Set(reflect.ValueOf(x))
	}
	return nil
}

// generic decodes the value at s.pos as encoding/json decodes into an
// empty interface.
func (s *scanner) generic(depth int) (any, error) {
	if depth > maxDepth {
		return nil, s.errorf("nesting deeper than %d", maxDepth)
	}
	if s.pos >= len(s.data) {
		return nil, s.errorf("unexpected end of input")
	}
	switch s.data[s.pos] {
	case '{':
		m := map[string]any{}
		err := s.object(depth, func(key []byte, at int) error {
			x, err := s.generic(depth + 1)
			if err != nil {
				return err
			}
			m[s.keyString(key, at)] = x
			return nil
		})
		return m, err
	case '[':
		a := make([]any, 0, 4)
		err := s.array(depth, func() error {
			x, err := s.generic(depth + 1)
			a = append(a, x)
			return err
		})
		return a, err
	case '"':
		return s.strValue()
	}
	tok, err := s.literalToken()
	if err != nil {
		return nil, err
	}
	switch tok[0] {
	case 'n':
		return nil, nil
	case 't', 'f':
		return tok[0] == 't', nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return nil, s.errorf("number %s out of range", clipBytes(tok))
	}
	return f, nil
}

// literalToken scans a number, true, false or null.
func (s *scanner) literalToken() ([]byte, error) {
	// Numbers and literals: the token runs to the next delimiter.
	start := s.pos
scan:
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			break scan
		}
		s.pos++
	}
	tok := s.data[start:s.pos]
	if len(tok) == 0 {
		return nil, s.errorf("unexpected %q", s.data[start])
	}
	lit := string(tok) == "null" || string(tok) == "true" || string(tok) == "false"
	if !lit && !isNumber(tok) {
		return nil, s.errorf("invalid literal %q", clipBytes(tok))
	}
	return tok, nil
}

// literal stores null, true, false or a number in v.
func (s *scanner) literal(tok []byte, v reflect.Value) error {
	switch tok[0] {
	case 'n':
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
		}
		return nil // null leaves other values as they are
	case 't', 'f':
		if v.Kind() != reflect.Bool {
			return s.mismatch("a boolean", v)
		}
		v.SetBool(tok[0] == 't')
		return nil
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(string(tok), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return s.mismatch("number "+string(clipBytes(tok)), v)
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(string(tok), 10, 64)
		if err != nil || v.OverflowUint(n) {
			return s.mismatch("number "+string(clipBytes(tok)), v)
		}
		v.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(string(tok), v.Type().Bits())
		if err != nil || v.OverflowFloat(n) {
			return s.mismatch("number "+string(clipBytes(tok)), v)
		}
		v.SetFloat(n)
		return nil
	}
	return s.mismatch("a number", v)
}

// isNumber reports whether b is a JSON number (RFC 8259 section 6).
func isNumber(b []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

func clipBytes(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

// fillObject scans an object against sh: a struct's fields, a map's
// elements, or anything when sh is opaque. v, when valid, is a struct or
// a map.
func (s *scanner) fillObject(sh *shape, depth int, v reflect.Value) error {
	if v.IsValid() && v.Kind() == reflect.Map && v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	return s.object(depth, func(key []byte, at int) error {
		child := opaqueShape
		var cv reflect.Value
		switch sh.kind {
		case reflect.Struct:
			f, ok := sh.fields[string(key)]
			if !ok {
				for _, n := range sh.names {
					if bytes.EqualFold(n, key) {
						return s.errorf("member %q differs from %q only in case", key, n)
					}
				}
				break
			}
			child = f.sh
			if v.IsValid() {
				cv = v.Field(f.index)
			}
		case reflect.Map:
			child = sh.elem
			if v.IsValid() {
				ev := reflect.New(v.Type().Elem()).Elem()
				if err := s.value(child, depth+1, ev); err != nil {
					return err
				}
				kv := reflect.ValueOf(s.keyString(key, at)).Convert(v.Type().Key())
				v.SetMapIndex(kv, ev)
				return nil
			}
		case reflect.Interface:
			child = sh.elem // generic: generic members
		}
		return s.value(child, depth+1, cv)
	})
}

// smallObject is the number of member names an object's duplicate check
// compares pairwise; beyond it, case-folded names go into a map, so that a
// header of many members cannot make the check quadratic.
const smallObject = 16

// object scans the object at s.pos, refusing a member name that equals an
// earlier one when case is ignored, and calls member for each name with
// s.pos at its value, which member must scan. key is the name: its bytes in
// s.data from offset at, or its decoded bytes with at -1 when it holds
// escapes.
func (s *scanner) object(depth int, member func(key []byte, at int) error) error {
	s.pos++ // '{'
	var smallBuf [smallObject][]byte
	small := smallBuf[:0]
	var folded map[string]bool
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.errorf("expected member name")
		}
		key, at, err := s.key()
		if err != nil {
			return err
		}
		if folded == nil {
			for _, k := range small {
				if bytes.EqualFold(k, key) {
					return s.errorf("duplicate member %q", key)
				}
			}
			if len(small) < smallObject {
				small = append(small, key)
			} else {
				folded = make(map[string]bool, 2*smallObject)
				for _, k := range small {
					folded[foldKey(k)] = true
				}
			}
		}
		if folded != nil {
			fk := foldKey(key)
			if folded[fk] {
				return s.errorf("duplicate member %q", key)
			}
			folded[fk] = true
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.errorf("expected ':'")
		}
		s.pos++
		s.skipSpace()
		if err := member(key, at); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.errorf("unterminated object")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errorf("expected ',' or '}'")
		}
	}
}

// foldKey maps a name to the same string as every name it equals when case
// is ignored (bytes.EqualFold): each rune becomes the smallest rune of its
// simple case-folding orbit.
func foldKey(b []byte) string {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		out = utf8.AppendRune(out, least)
	}
	return string(out)
}

// fillArray scans an array against sh, storing its elements in the slice
// v when v is valid.
func (s *scanner) fillArray(sh *shape, depth int, v reflect.Value) error {
	if v.IsValid() {
		if v.Kind() != reflect.Slice {
			return s.mismatch("an array", v)
		}
		// As encoding/json: [] gives an empty slice, not nil.
		v.Set(reflect.MakeSlice(v.Type(), 0, 4))
	}
	child := opaqueShape
	if sh.kind == reflect.Slice || sh.kind == reflect.Array || sh.kind == reflect.Interface {
		child = sh.elem
	}
	return s.array(depth, func() error {
		var ev reflect.Value
		if v.IsValid() {
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
			ev = v.Index(v.Len() - 1)
		}
		return s.value(child, depth+1, ev)
	})
}

// array scans the array at s.pos, calling elem with s.pos at each element,
// which elem must scan.
func (s *scanner) array(depth int, elem func() error) error {
	s.pos++ // '['
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		if err := elem(); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.errorf("unterminated array")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.errorf("expected ',' or ']'")
		}
	}
}

// str scans the JSON string at s.pos, checking that it is valid, and
// returns the bounds of its content and whether it holds escapes.
func (s *scanner) str() (start, end int, escaped bool, err error) {
	s.pos++ // opening quote
	start = s.pos
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == '"':
			end = s.pos
			s.pos++
			if !escaped && !utf8.Valid(s.data[start:end]) {
				return 0, 0, false, s.errorf("invalid UTF-8 in string")
			}
			return start, end, escaped, nil
		case c == '\\':
			escaped = true
			s.pos += 2
		case c < 0x20:
			return 0, 0, false, s.errorf("control character in string")
		default:
			s.pos++
		}
	}
	return 0, 0, false, s.errorf("unterminated string")
}

// unescape decodes the content of a string that holds escapes.
func (s *scanner) unescape(start, end int) (string, error) {
	var out string
	if err := json.Unmarshal(s.data[start-1:end+1], &out); err != nil {
		return "", s.errorf("invalid string: %v", err)
	}
	return out, nil
}

// strValue scans the string at s.pos and returns its value.
func (s *scanner) strValue() (string, error) {
	start, end, escaped, err := s.str()
	if err != nil {
		return "", err
	}
	if escaped {
		return s.unescape(start, end)
	}
	if s.text == "" {
		return string(s.data[start:end]), nil
	}
	return s.text[start:end], nil
}

// key scans a member name; see object for what it returns.
func (s *scanner) key() (key []byte, at int, err error) {
	start, end, escaped, err := s.str()
	if err != nil {
		return nil, 0, err
	}
	if !escaped {
		return s.data[start:end], start, nil
	}
	k, err := s.unescape(start, end)
	return []byte(k), -1, err
}

// keyString returns a name object gave as a string.
func (s *scanner) keyString(key []byte, at int) string {
	if at >= 0 && s.text != "" {
		return s.text[at : at+len(key)]
	}
	return string(key)
}

// DecodeValue stores in dst, a non-nil pointer to a zero value, the JSON
// value v as DecodeStrict(Marshal(v), dst) would: v is what DecodeStrict
// or encoding/json decode into an empty interface (map[string]any, []any,
// string, float64, bool and nil), perhaps rearranged since, such as the
// claims of a disclosure once its digests are resolved. For the types
// DecodeStrict fills in its scan it walks v instead of writing and reading
// JSON, with the same refusals (FuzzDecodeValueMatchesRoundTrip).
func DecodeValue(v any, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("jws: DecodeValue needs a non-nil pointer, got %T", dst)
	}
	if sh := shapeOf(rv.Type().Elem()); sh.fast {
		w := walker{}
		err := w.value(v, sh, 0, rv.Elem())
		if !errors.Is(err, errNotGeneric) {
			return err
		}
		rv.Elem().SetZero()
	}
	b, err := Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStrictJSON, err)
	}
	return DecodeStrict(b, dst)
}

// errNotGeneric stops a walk that met a value JSON decoding does not make.
var errNotGeneric = errors.New("not a decoded JSON value")

// walker fills values from decoded JSON values; its errors are those the
// scanner gives for the same value as JSON text.
type walker struct{ s scanner }

func (w *walker) value(x any, sh *shape, depth int, v reflect.Value) error {
	if depth > maxDepth {
		return w.s.errorf("nesting deeper than %d", maxDepth)
	}
	if !v.IsValid() {
		return w.check(x, depth)
	}
	for v.Kind() == reflect.Pointer && x != nil {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	switch {
	case sh.raw && v.Kind() == reflect.Slice:
		if err := w.check(x, depth); err != nil {
			return err
		}
		b, err := Marshal(x)
		if err != nil {
			return errNotGeneric
		}
		v.SetBytes(b)
		return nil
	case v.Kind() == reflect.Interface:
		if !v.IsNil() {
			return errNotGeneric // DecodeStrict's rules for a pointer held by the interface
		}
		if err := w.check(x, depth); err != nil {
			return err
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	}
	switch x := x.(type) {
	case nil:
		return w.s.literal([]byte("null"), v)
	case bool:
		if x {
			return w.s.literal([]byte("true"), v)
		}
		return w.s.literal([]byte("false"), v)
	case float64:
		b, err := Marshal(x)
		if err != nil {
			return errNotGeneric
		}
		return w.s.literal(b, v)
	case string:
		if !utf8.ValidString(x) {
			return errNotGeneric // Marshal would change it
		}
		if v.Kind() != reflect.String {
			return w.s.mismatch("a string", v)
		}
		v.SetString(x)
		return nil
	case []any:
		if v.Kind() != reflect.Slice {
			return w.s.mismatch("an array", v)
		}
		v.Set(reflect.MakeSlice(v.Type(), len(x), len(x)))
		child := opaqueShape
		if sh.kind == reflect.Slice {
			child = sh.elem
		}
		for i, e := range x {
			if err := w.value(e, child, depth+1, v.Index(i)); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		if v.Kind() != reflect.Struct && v.Kind() != reflect.Map {
			return w.s.mismatch("an object", v)
		}
		if err := w.names(x); err != nil {
			return err
		}
		if v.Kind() == reflect.Map {
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			for k, e := range x {
				ev := reflect.New(v.Type().Elem()).Elem()
				if err := w.value(e, sh.elem, depth+1, ev); err != nil {
					return err
				}
				v.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), ev)
			}
			return nil
		}
		for k, e := range x {
			f, ok := sh.fields[k]
			if !ok {
				for _, n := range sh.names {
					if bytes.EqualFold(n, []byte(k)) {
						return w.s.errorf("member %q differs from %q only in case", k, n)
					}
				}
				if err := w.check(e, depth+1); err != nil {
					return err
				}
				continue
			}
			if err := w.value(e, f.sh, depth+1, v.Field(f.index)); err != nil {
				return err
			}
		}
		return nil
	}
	return errNotGeneric
}

// check refuses in x what the scan refuses in a value it does not fill:
// nesting too deep, and names equal when case is ignored.
func (w *walker) check(x any, depth int) error {
	if depth > maxDepth {
		return w.s.errorf("nesting deeper than %d", maxDepth)
	}
	switch x := x.(type) {
	case nil, bool:
	case float64:
		if _, err := Marshal(x); err != nil {
			return errNotGeneric
		}
	case string:
		if !utf8.ValidString(x) {
			return errNotGeneric
		}
	case []any:
		for _, e := range x {
			if err := w.check(e, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		if err := w.names(x); err != nil {
			return err
		}
		for _, e := range x {
			if err := w.check(e, depth+1); err != nil {
				return err
			}
		}
	default:
		return errNotGeneric
	}
	return nil
}

// names refuses an object with two names that are equal when case is
// ignored, as the scan does.
func (w *walker) names(m map[string]any) error {
	if len(m) <= smallObject {
		var buf [smallObject]string
		seen := buf[:0]
		for k := range m {
			if !utf8.ValidString(k) {
				return errNotGeneric
			}
			for _, o := range seen {
				if strings.EqualFold(o, k) {
					return w.s.errorf("duplicate member %q", k)
				}
			}
			seen = append(seen, k)
		}
		return nil
	}
	folded := make(map[string]bool, len(m))
	for k := range m {
		if !utf8.ValidString(k) {
			return errNotGeneric
		}
		fk := foldKey([]byte(k))
		if folded[fk] {
			return w.s.errorf("duplicate member %q", k)
		}
		folded[fk] = true
	}
	return nil
}
