package jws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxDepth bounds the nesting of JSON values accepted by DecodeStrict.
const maxDepth = 32

// ErrStrictJSON is wrapped by every error DecodeStrict returns for input that
// encoding/json would accept but that is ambiguous or unexpected.
var ErrStrictJSON = errors.New("strict json")

// DecodeStrict decodes JSON into v, refusing what encoding/json lets through
// silently: duplicate member names (also when they differ only in case), a
// member whose name matches a struct field only case-insensitively, and
// nesting deeper than 32 levels. Members a struct does not name are ignored,
// as JWT claims and JOSE headers require; since no case variant of a known
// name gets through, an ignored member cannot be read as a known one.
// It is meant for payloads whose signature has been verified: no other
// parser may read them differently from us.
func DecodeStrict(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("jws: DecodeStrict needs a non-nil pointer, got %T", v)
	}
	s := scanner{data: data}
	s.skipSpace()
	if err := s.value(shapeOf(rv.Type().Elem()), 0); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos != len(s.data) {
		return fmt.Errorf("%w: trailing data at offset %d", ErrStrictJSON, s.pos)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", ErrStrictJSON, err)
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

// shape describes which member names a Go type accepts.
type shape struct {
	kind   reflect.Kind
	fields map[string]*shape // struct: exact JSON name to field shape
	names  []string          // struct: the JSON names, for case-folded comparison
	elem   *shape            // map, slice, array, pointer target
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
	if sh, ok := seen[t]; ok {
		return sh
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return anyShape // opaque to us: still checked for duplicates
	}
	sh := &shape{kind: t.Kind()}
	seen[t] = sh
	switch t.Kind() {
	case reflect.Struct:
		sh.fields = map[string]*shape{}
		addFields(sh, t, seen)
	case reflect.Map, reflect.Slice, reflect.Array:
		sh.elem = buildShape(t.Elem(), seen)
	}
	return sh
}

func addFields(sh *shape, t reflect.Type, seen map[reflect.Type]*shape) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
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
		sh.fields[name] = buildShape(f.Type, seen)
		sh.names = append(sh.names, name)
	}
}

type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrStrictJSON, s.pos, fmt.Sprintf(format, args...))
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

func (s *scanner) value(sh *shape, depth int) error {
	if depth > maxDepth {
		return s.errorf("nesting deeper than %d", maxDepth)
	}
	if s.pos >= len(s.data) {
		return s.errorf("unexpected end of input")
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object(sh, depth)
	case c == '[':
		return s.array(sh, depth)
	case c == '"':
		_, err := s.str()
		return err
	default:
		// Numbers and literals: find their end; encoding/json validates them.
		start := s.pos
		for s.pos < len(s.data) {
			switch s.data[s.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				goto done
			}
			s.pos++
		}
	done:
		if s.pos == start {
			return s.errorf("unexpected %q", c)
		}
		return nil
	}
}

func (s *scanner) object(sh *shape, depth int) error {
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
					child = anyShape
				} else {
					child = f
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
		if err := s.value(child, depth+1); err != nil {
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

func (s *scanner) array(sh *shape, depth int) error {
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
		if err := s.value(child, depth+1); err != nil {
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
