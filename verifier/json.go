package verifier

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/permit"
)

// AppendJSON appends r to dst as JSON: its fields, then "claims" (the
// object of ClaimsMap, names sorted, or null), "trust_age_s" and
// "status_age_s" in whole seconds, escaped as encoding/json escapes by
// default. Counter mode prints one such verdict per scan, and encoding/json
// spent as much on it as a tenth of the verification.
func (r *Result) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"valid":`...)
	dst = strconv.AppendBool(dst, r.Valid)
	dst = append(dst, `,"purpose":`...)
	dst = appendString(dst, r.Purpose)
	dst = append(dst, `,"reasons":`...)
	dst = appendReasons(dst, r.Reasons)
	dst = append(dst, `,"warnings":`...)
	dst = appendReasons(dst, r.Warnings)
	dst = append(dst, `,"issuer":{"iss":`...)
	dst = appendString(dst, r.Issuer.ID)
	if r.Issuer.NameZH != "" {
		dst = append(dst, `,"name_zh":`...)
		dst = appendString(dst, r.Issuer.NameZH)
	}
	if r.Issuer.NameEN != "" {
		dst = append(dst, `,"name_en":`...)
		dst = appendString(dst, r.Issuer.NameEN)
	}
	dst = append(dst, `},"status":`...)
	dst = appendString(dst, r.Status)
	dst = append(dst, `,"holder_bound":`...)
	dst = strconv.AppendBool(dst, r.HolderBound)
	dst = append(dst, `,"fresh":`...)
	dst = strconv.AppendBool(dst, r.Fresh)
	dst = append(dst, `,"claims":`...)
	dst = appendClaims(dst, r.Claims)
	dst = append(dst, `,"trust_age_s":`...)
	dst = strconv.AppendInt(dst, int64(r.TrustAge/time.Second), 10)
	dst = append(dst, `,"status_age_s":`...)
	dst = strconv.AppendInt(dst, int64(r.StatusAge/time.Second), 10)
	return append(dst, '}')
}

// appendClaims appends the object of ClaimsMap, its names in the sorted
// order encoding/json writes a map in.
func appendClaims(dst []byte, c *credential.Claims) []byte {
	if c == nil {
		return append(dst, "null"...)
	}
	id, res := c.Identity, c.Residence
	sep := byte('{')
	member := func(name, value string) {
		dst = append(dst, sep, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
		dst = appendString(dst, value)
		sep = ','
	}
	if res != nil {
		dst = append(dst, `{"basis":`...)
		if res.Basis == nil {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, '[')
			for i, b := range res.Basis {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendString(dst, b)
			}
			dst = append(dst, ']')
		}
		sep = ','
	}
	if id != nil {
		member("citizen_id", id.CitizenID)
		member("ethnicity", id.Ethnicity)
	}
	if res != nil {
		member("household_address", res.HouseholdAddress)
		member("household_division", res.HouseholdDivision)
		member("issue_date", res.IssueDate)
	}
	china := permit.ChinaTime()
	member("issued_at", c.IssuedAt.In(china).Format(time.RFC3339))
	member("masked_id", c.MaskedID)
	member("name", c.Name)
	member("permit_no", c.PermitNo)
	if id != nil && id.PhotoSHA256 != "" {
		member("photo_sha256", id.PhotoSHA256)
	}
	member("region", c.Region)
	if res != nil {
		member("residence_address", res.Address)
		member("residence_since", res.Since)
	}
	member("valid_until", c.Expires.In(china).Format(time.RFC3339))
	return append(dst, '}')
}

func appendReasons(dst []byte, rs []Reason) []byte {
	if rs == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, x := range rs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"code":`...)
		dst = appendString(dst, string(x.Code))
		dst = append(dst, `,"message":`...)
		dst = appendString(dst, x.Message)
		dst = append(dst, `,"message_zh":`...)
		dst = appendString(dst, x.MessageZH)
		if x.Detail != "" {
			dst = append(dst, `,"detail":`...)
			dst = appendString(dst, x.Detail)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendString appends s as a JSON string escaped as encoding/json escapes
// by default: '"', '\\' and control characters, '<', '>' and '&' (HTML),
// U+2028 and U+2029; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
