package issuer

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// Prefixes of the secrets the service hands out, so that a leaked one is
// easy to recognise in logs and by secret scanners.
const (
	CodePrefix   = "epc_" // pre-authorized codes of credential offers
	AccessPrefix = "epa_" // access tokens of the wallet flow
	TokenPrefix  = "ept_" // officials' API tokens
	SecretPrefix = "eps_" // applicants' secrets
)

// Kinds of grants in BucketGrants; the key is the kind and an 8-byte id.
const (
	grantOffer  = 'o'
	grantAccess = 'a'
	grantNonce  = 'n'
)

// newGrant returns a fresh code or access token: the prefix and the
// base64url of an 8-byte time that grows in this process and 24 random
// bytes. The record is stored under the time and the first 8 random bytes
// (unique across replicas), so grants made together sit together; only the
// hash of the whole secret is stored, and a lookup compares it.
func (s *Service) newGrant(kind byte, prefix string) (secret string, key []byte, hash string, err error) {
	var b [32]byte
	copy(b[:8], s.timeID())
	if _, err := io.ReadFull(s.cfg.Rand, b[8:]); err != nil {
		return "", nil, "", fmt.Errorf("issuer: random: %w", err)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, append([]byte{kind}, b[:16]...), Hash(secret), nil
}

// grantKey returns the record key of a grant and the hash to compare, or
// false for a string that is not a grant with that prefix.
func grantKey(kind byte, secret, prefix string) ([]byte, string, bool) {
	if len(secret) != len(prefix)+43 || secret[:len(prefix)] != prefix {
		return nil, "", false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(secret[len(prefix):])
	if err != nil || len(raw) != 32 {
		return nil, "", false
	}
	return append([]byte{kind}, raw[:16]...), Hash(secret), true
}

// Nonces: a c_nonce is the expiry time, 16 random bytes and a 16-byte MAC
// under the index key, in base64url. Any replica can check one without a
// read, and making one writes nothing, so a flood of nonce requests costs
// no storage. Its single use is recorded when a credential request consumes
// it, under the key 'n', expiry, random: the record is swept after expiry.

const nonceLen = 8 + 16 + 16

// NewNonce returns a fresh c_nonce and when it expires.
func (s *Service) NewNonce(now time.Time) (string, time.Time, error) {
	exp := now.Add(s.cfg.NonceTTL).Truncate(time.Second)
	b := make([]byte, 8+16, nonceLen)
	binary.BigEndian.PutUint64(b, uint64(exp.Unix()))
	if _, err := io.ReadFull(s.cfg.Rand, b[8:24]); err != nil {
		return "", time.Time{}, fmt.Errorf("issuer: random: %w", err)
	}
	b = append(b, s.mac("epermit c_nonce", b)[:16]...)
	return base64.RawURLEncoding.EncodeToString(b), exp, nil
}

// checkNonce verifies a nonce's MAC and expiry and returns its record key.
func (s *Service) checkNonce(nonce string, now time.Time) ([]byte, bool) {
	if len(nonce) != base64.RawURLEncoding.EncodedLen(nonceLen) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(nonce)
	if err != nil || len(b) != nonceLen || !hmac.Equal(b[24:], s.mac("epermit c_nonce", b[:24])[:16]) {
		return nil, false
	}
	if exp := time.Unix(int64(binary.BigEndian.Uint64(b)), 0); !now.Before(exp) {
		return nil, false
	}
	return append([]byte{grantNonce}, b[:24]...), true
}

// consumeNonce records a nonce as used inside tx, refusing a used one.
func consumeNonce(tx Tx, key []byte) error {
	v, err := tx.Get(BucketGrants, key)
	if err != nil {
		return err
	}
	if v != nil {
		return errInvalidGrant
	}
	return tx.Put(BucketGrants, key, nil)
}

// ConsumeNonce checks a c_nonce and records its single use; a nonce that
// is unknown, expired or used gives ErrInvalidGrant.
func (s *Service) ConsumeNonce(ctx context.Context, nonce string, now time.Time) error {
	key, ok := s.checkNonce(nonce, now)
	if !ok {
		return errInvalidGrant
	}
	return s.update(ctx, func(tx Tx) error { return consumeNonce(tx, key) })
}

// SweepGrants deletes offers, access tokens and used nonces that expired
// before now, at most limit of them, and returns how many it deleted.
// Offers and tokens are keyed by creation time and live at most a day.
func (s *Service) SweepGrants(ctx context.Context, now time.Time, limit int) (int, error) {
	n := 0
	err := s.update(ctx, func(tx Tx) error {
		n = 0
		var dead [][]byte
		for _, kind := range []byte{grantOffer, grantAccess, grantNonce} {
			cutoff := now.Add(-24 * time.Hour).UnixNano()
			if kind == grantNonce {
				cutoff = now.Unix()
			}
			err := tx.Scan(BucketGrants, []byte{kind}, nil, false, func(k, _ []byte) (bool, error) {
				if len(k) < 9 || int64(binary.BigEndian.Uint64(k[1:9])) >= cutoff || len(dead) >= limit {
					return false, nil
				}
				dead = append(dead, append([]byte(nil), k...))
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		for _, k := range dead {
			if err := tx.Delete(BucketGrants, k); err != nil {
				return err
			}
		}
		n = len(dead)
		return nil
	})
	return n, err
}
