package jws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
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
// The scan that enforces this validates the whole document. A value whose
// type is made of structs, strings, booleans, int and int64, and pointers
// to and slices of these (the headers and claims a verification decodes)
// is filled in that same pass; encoding/json decodes values of any other
// type after the scan. The result is what encoding/json.Unmarshal gives
// for every input the scan accepts (FuzzDecodeStrictMatchesJSON).
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
	names  []string         // struct: the JSON names, for case-folded comparison
	elem   *shape           // map, slice, array, pointer target
	// fast: the scan fills values of this type, pointers to it included,
	// itself: struct, string, bool, int, int64, or a slice, of fast types,
	// with no field that encoding/json treats specially.
	fast bool
}

// field is the struct field a member name selects.
type field struct {
	sh    *shape
	index int // in the struct; only meaningful when the struct is fast
}

var shapes sync.Map // reflect.Type -> *shape

var anyShape = &shape{kind: reflect.Interface}

func shapeOf(t reflect.Type) *shape {
	if sh, ok := shapes.Load(t); ok {
		return sh.(*shape)
	}
	sh := buildShape(t, map[reflect.Type]*shape{})
	shapes.Store(t, sh)
	return sh
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))
var unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

func buildShape(t reflect.Type, seen map[reflect.Type]*shape) *shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if sh, ok := seen[t]; ok {
		return sh // a type that holds itself: not fast, as sh.fast is still false
	}
	if t == rawMessageType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return anyShape // opaque to us: still checked for duplicates
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
		fast = sh.elem.fast
	case reflect.Map, reflect.Array:
		sh.elem = buildShape(t.Elem(), seen)
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64:
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
		sh.names = append(sh.names, name)
	}
	return fast
}

type scanner struct {
	data []byte
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
	switch {
	case c == '{':
		return s.object(sh, depth, v)
	case c == '[':
		return s.array(sh, depth, v)
	case c == '"':
		str, err := s.str()
		if err != nil || !v.IsValid() {
			return err
		}
		if v.Kind() != reflect.String {
			return s.mismatch("a string", v)
		}
		v.SetString(str)
		return nil
	default:
		// Numbers and literals: the token runs to the next delimiter.
		start := s.pos
		for s.pos < len(s.data) {
			switch s.data[s.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				goto done
			}
			s.pos++
		}
	done:
		tok := s.data[start:s.pos]
		if len(tok) == 0 {
			return s.errorf("unexpected %q", c)
		}
		lit := string(tok) == "null" || string(tok) == "true" || string(tok) == "false"
		if !lit && !isNumber(tok) {
			return s.errorf("invalid literal %q", clipBytes(tok))
		}
		if !v.IsValid() {
			return nil
		}
		return s.literal(tok, v)
	}
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
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(string(tok), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return s.mismatch("number "+string(clipBytes(tok)), v)
		}
		v.SetInt(n)
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

func (s *scanner) object(sh *shape, depth int, v reflect.Value) error {
	if v.IsValid() && v.Kind() != reflect.Struct {
		return s.mismatch("an object", v)
	}
	s.pos++ // '{'
	var keys []string
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
		key, err := s.str()
		if err != nil {
			return err
		}
		for _, k := range keys {
			if strings.EqualFold(k, key) {
				return s.errorf("duplicate member %q", key)
			}
		}
		keys = append(keys, key)
		child := anyShape
		var cv reflect.Value
		if sh != nil {
			switch sh.kind {
			case reflect.Struct:
				f, ok := sh.fields[key]
				if !ok {
					for _, n := range sh.names {
						if strings.EqualFold(n, key) {
							return s.errorf("member %q differs from %q only in case", key, n)
						}
					}
				} else {
					child = f.sh
					if v.IsValid() {
						cv = v.Field(f.index)
					}
				}
			case reflect.Map:
				child = sh.elem
			}
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.errorf("expected ':'")
		}
		s.pos++
		s.skipSpace()
		if err := s.value(child, depth+1, cv); err != nil {
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

func (s *scanner) array(sh *shape, depth int, v reflect.Value) error {
	if v.IsValid() {
		if v.Kind() != reflect.Slice {
			return s.mismatch("an array", v)
		}
		// As encoding/json: [] gives an empty slice, not nil.
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	s.pos++ // '['
	child := anyShape
	if sh != nil && (sh.kind == reflect.Slice || sh.kind == reflect.Array) {
		child = sh.elem
	}
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		var ev reflect.Value
		if v.IsValid() {
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
			ev = v.Index(v.Len() - 1)
		}
		if err := s.value(child, depth+1, ev); err != nil {
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

// str reads a JSON string at s.pos and returns its decoded value.
func (s *scanner) str() (string, error) {
	start := s.pos
	s.pos++ // opening quote
	escaped := false
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == '"':
			s.pos++
			raw := s.data[start:s.pos]
			if !escaped {
				if !utf8.Valid(raw) {
					return "", s.errorf("invalid UTF-8 in string")
				}
				return string(raw[1 : len(raw)-1]), nil
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				return "", s.errorf("invalid string: %v", err)
			}
			return out, nil
		case c == '\\':
			escaped = true
			s.pos += 2
		case c < 0x20:
			return "", s.errorf("control character in string")
		default:
			s.pos++
		}
	}
	return "", s.errorf("unterminated string")
}
