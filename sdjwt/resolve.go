package sdjwt

import "fmt"

// Resolve matches presented disclosures against the digests of an
// issuer-signed payload (its top-level _sd array and _sd_alg) and returns the
// disclosed claims by name, with digests inside disclosed values resolved in
// turn (RFC 9901, section 7.1): nested _sd arrays in objects and {"...":
// digest} array elements. Undisclosed array elements are dropped.
//
// Every disclosure must be referenced exactly once, no digest may appear
// twice, and a disclosed name may not collide with another at the same
// level. The caller checks collisions with the payload's visible claims.
func Resolve(sd []string, sdAlg string, disclosures []string) (map[string]any, error) {
	if sdAlg != "" && sdAlg != SHA256 {
		return nil, fmt.Errorf("sdjwt: %w: %q", ErrHashAlgorithm, sdAlg)
	}
	r := resolver{byDigest: make(map[string]*entry, len(disclosures)), seen: make(map[string]bool, len(sd))}
	for _, enc := range disclosures {
		dg := Digest(enc)
		if _, dup := r.byDigest[dg]; dup {
			return nil, fmt.Errorf("sdjwt: %w", ErrDuplicateDisclosure)
		}
		d, err := ParseDisclosure(enc)
		if err != nil {
			return nil, err
		}
		r.byDigest[dg] = &entry{d: d}
	}
	out := make(map[string]any, len(disclosures))
	if err := r.object(sd, out); err != nil {
		return nil, err
	}
	for _, e := range r.byDigest {
		if !e.used {
			return nil, fmt.Errorf("sdjwt: %w: %q", ErrDigestNotFound, e.d.Name)
		}
	}
	return out, nil
}

type entry struct {
	d    Disclosure
	used bool
}

type resolver struct {
	byDigest map[string]*entry
	seen     map[string]bool
}

// object resolves the digests sd into dst.
func (r *resolver) object(sd []string, dst map[string]any) error {
	for _, dg := range sd {
		if r.seen[dg] {
			return fmt.Errorf("sdjwt: %w", ErrDuplicateDigest)
		}
		r.seen[dg] = true
		e, ok := r.byDigest[dg]
		if !ok {
			continue // not disclosed, or a decoy
		}
		if e.d.Name == "" {
			return fmt.Errorf("sdjwt: %w: array-element disclosure referenced from an object", ErrDisclosure)
		}
		if _, taken := dst[e.d.Name]; taken {
			return fmt.Errorf("sdjwt: %w: %q", ErrClaimCollision, e.d.Name)
		}
		e.used = true
		v, err := r.value(e.d.Value)
		if err != nil {
			return err
		}
		dst[e.d.Name] = v
	}
	return nil
}

// value resolves the digests inside a disclosed value.
func (r *resolver) value(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		var digests []string
		if raw, has := v["_sd"]; has {
			list, ok := raw.([]any)
			if !ok {
				return nil, fmt.Errorf("sdjwt: %w: _sd is not an array", ErrDisclosure)
			}
			delete(v, "_sd")
			digests = make([]string, len(list))
			for i, x := range list {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("sdjwt: %w: _sd holds a non-string", ErrDisclosure)
				}
				digests[i] = s
			}
		}
		if _, bad := v["_sd_alg"]; bad {
			return nil, fmt.Errorf("sdjwt: %w: _sd_alg inside a disclosure", ErrDisclosure)
		}
		for k, x := range v {
			rx, err := r.value(x)
			if err != nil {
				return nil, err
			}
			v[k] = rx
		}
		if err := r.object(digests, v); err != nil {
			return nil, err
		}
		return v, nil
	case []any:
		out := v[:0:0]
		for _, x := range v {
			if m, ok := x.(map[string]any); ok && len(m) == 1 {
				if raw, ok := m["..."]; ok {
					dg, ok := raw.(string)
					if !ok {
						return nil, fmt.Errorf("sdjwt: %w: array digest is not a string", ErrDisclosure)
					}
					if r.seen[dg] {
						return nil, fmt.Errorf("sdjwt: %w", ErrDuplicateDigest)
					}
					r.seen[dg] = true
					e, ok := r.byDigest[dg]
					if !ok {
						continue
					}
					if e.d.Name != "" {
						return nil, fmt.Errorf("sdjwt: %w: object-property disclosure referenced from an array", ErrDisclosure)
					}
					e.used = true
					rv, err := r.value(e.d.Value)
					if err != nil {
						return nil, err
					}
					out = append(out, rv)
					continue
				}
			}
			rx, err := r.value(x)
			if err != nil {
				return nil, err
			}
			out = append(out, rx)
		}
		return out, nil
	default:
		return v, nil
	}
}
