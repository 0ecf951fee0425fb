// Package vectors holds public test vectors that the tests of several
// packages share, so that each list exists once. Only tests import it.
package vectors

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
)

//go:embed ed25519_small_order.json
var smallOrderJSON []byte

// SmallOrderPoint is an Ed25519 point of small order, canonically encoded.
type SmallOrderPoint struct {
	Order   int    // 1, 2, 4 or 8
	Encoded []byte // 32 bytes
}

// SmallOrderEd25519 returns the eight points of small order of
// edwards25519 (ed25519_small_order.json says where they come from; the
// keys package's tests check them with filippo.io/edwards25519).
func SmallOrderEd25519() []SmallOrderPoint {
	var v struct {
		Points []struct {
			Order int    `json:"order"`
			Hex   string `json:"hex"`
		} `json:"points"`
	}
	if err := json.Unmarshal(smallOrderJSON, &v); err != nil {
		panic(err)
	}
	out := make([]SmallOrderPoint, len(v.Points))
	for i, p := range v.Points {
		b, err := hex.DecodeString(p.Hex)
		if err != nil || len(b) != 32 {
			panic("vectors: bad point " + p.Hex)
		}
		out[i] = SmallOrderPoint{Order: p.Order, Encoded: b}
	}
	return out
}
