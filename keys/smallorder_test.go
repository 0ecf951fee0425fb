package keys

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"testing"

	"filippo.io/edwards25519"

	"github.com/epermit/epermit/internal/vectors"
)

// TestSmallOrderVectors checks the test data itself: eight distinct valid
// points, each of the order it claims, the identity among them.
func TestSmallOrderVectors(t *testing.T) {
	pts := vectors.SmallOrderEd25519()
	if len(pts) != 8 {
		t.Fatalf("%d points, want 8", len(pts))
	}
	id := edwards25519.NewIdentityPoint()
	seen := map[string]bool{}
	for _, p := range pts {
		b := p.Encoded
		P, err := new(edwards25519.Point).SetBytes(b)
		if err != nil {
			t.Fatalf("%x: not a point: %v", b, err)
		}
		if string(P.Bytes()) != string(b) {
			t.Fatalf("%x: not canonical", b)
		}
		// The order is the least n in {1, 2, 4, 8} with [n]P = identity.
		order := 0
		for _, n := range []int{1, 2, 4, 8} {
			Q := new(edwards25519.Point).Set(P)
			for m := 1; m < n; m++ {
				Q.Add(Q, P)
			}
			if Q.Equal(id) == 1 {
				order = n
				break
			}
		}
		if order != p.Order {
			t.Errorf("%x: order %d, data says %d", b, order, p.Order)
		}
		seen[string(b)] = true
	}
	if len(seen) != 8 {
		t.Errorf("%d distinct points", len(seen))
	}
}

// TestSmallOrderKeysRefused refuses each small-order point wherever a public
// key enters: ParseJWK, JWK.PublicKey, JWK.HolderKey, ParseHolderJWK,
// ParseJWKS, HolderJWK and JWKS.Lookup.
func TestSmallOrderKeysRefused(t *testing.T) {
	for _, p := range vectors.SmallOrderEd25519() {
		b := p.Encoded
		x := b64.EncodeToString(b)
		k := JWK{Kty: "OKP", Crv: "Ed25519", X: x}
		js := `{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}`
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, ErrSmallOrderKey) || !errors.Is(err, ErrInvalidJWK) {
				t.Errorf("%s %x: error %v, want ErrSmallOrderKey and ErrInvalidJWK", what, b, err)
			}
		}
		_, err := ParseJWK([]byte(js))
		check("ParseJWK", err)
		_, err = k.PublicKey()
		check("PublicKey", err)
		_, err = k.HolderKey()
		check("HolderKey", err)
		_, err = ParseHolderJWK([]byte(js))
		check("ParseHolderJWK", err)
		_, err = ParseJWKS([]byte(`{"keys":[` + js + `]}`))
		check("ParseJWKS", err)
		_, err = HolderJWK(ed25519.PublicKey(b))
		check("HolderJWK", err)
		_, err = k.Thumbprint()
		check("Thumbprint", err)
		if _, ok := (JWKS{Keys: []JWK{k}}).Lookup(Thumbprint(b)); ok {
			t.Errorf("Lookup found small-order key %x", b)
		}
	}
}

// TestNonCanonicalKeysRefused refuses the second encodings of points: a y
// coordinate of p+k for a valid y = k, and x = 0 with the sign bit set.
func TestNonCanonicalKeysRefused(t *testing.T) {
	// p = 2^255 - 19, little-endian: ed ff ... ff 7f. p+k for k < 19 still
	// fits in 255 bits.
	plus := func(k byte) []byte {
		b := make([]byte, 32)
		for i := range b {
			b[i] = 0xff
		}
		b[0] = 0xed + k
		b[31] = 0x7f
		return b
	}
	var valid []byte // a non-canonical encoding of a point not of small order
	for k := byte(2); k < 19; k++ {
		if _, err := new(edwards25519.Point).SetBytes(plus(k)); err == nil {
			valid = plus(k)
			break
		}
	}
	if valid == nil {
		t.Fatal("no valid y among 2..18")
	}
	signed := func(b []byte) []byte { b = append([]byte(nil), b...); b[31] |= 0x80; return b }
	identity, _ := hex.DecodeString("0100000000000000000000000000000000000000000000000000000000000000")
	minusOne, _ := hex.DecodeString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"y = p + k of a point of large order", valid, ErrNonCanonicalKey},
		{"y = p + k, x sign set", signed(valid), ErrNonCanonicalKey},
		{"y = p (the order-4 point y = 0)", plus(0), ErrNonCanonicalKey},
		{"y = p + 1 (the identity)", plus(1), ErrNonCanonicalKey},
		{"y = 2^255 - 1", plus(18), ErrNonCanonicalKey},
		// x = 0 with the sign bit: the identity and the point of order 2,
		// refused as small order.
		{"identity, sign bit set", signed(identity), ErrSmallOrderKey},
		{"order 2, sign bit set", signed(minusOne), ErrSmallOrderKey},
	} {
		if _, err := new(edwards25519.Point).SetBytes(tc.b); err != nil && tc.want != ErrNonCanonicalKey {
			t.Fatalf("%s: the library does not decode it: %v", tc.name, err)
		}
		k := JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(tc.b)}
		if _, err := k.PublicKey(); !errors.Is(err, tc.want) {
			t.Errorf("%s: PublicKey error %v, want %v", tc.name, err, tc.want)
		}
		if _, err := k.HolderKey(); !errors.Is(err, tc.want) {
			t.Errorf("%s: HolderKey error %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestEd25519NotOnCurve refuses a y for which no x exists.
func TestEd25519NotOnCurve(t *testing.T) {
	for y := byte(2); y < 255; y++ {
		b := make([]byte, 32)
		b[0] = y
		if _, err := new(edwards25519.Point).SetBytes(b); err == nil {
			continue
		}
		_, err := JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(b)}.PublicKey()
		if !errors.Is(err, ErrInvalidPoint) {
			t.Fatalf("y = %d: error %v, want ErrInvalidPoint", y, err)
		}
		return
	}
	t.Fatal("no invalid y found")
}

// TestRealKeysAccepted: keys made by crypto/ed25519 pass every check.
func TestRealKeysAccepted(t *testing.T) {
	for i := range 64 {
		seed := make([]byte, 32)
		seed[0], seed[1] = byte(i), 0x5a
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		if _, err := PublicJWK(pub).PublicKey(); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
}

func BenchmarkCheckEd25519Point(b *testing.B) {
	pub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	for b.Loop() {
		if err := checkEd25519Point(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRingRefusesSmallOrderKey: a verify-only ring entry is published in
// the JWKS, so a weak one is refused as the JWKS would be.
func TestRingRefusesSmallOrderKey(t *testing.T) {
	for _, p := range vectors.SmallOrderEd25519() {
		if _, err := NewRing(Entry{Public: p.Encoded}, Entry{Signer: seededKey(7)}); !errors.Is(err, ErrInvalidEntry) || !errors.Is(err, ErrSmallOrderKey) {
			t.Errorf("%x: NewRing error %v", p.Encoded, err)
		}
	}
}
