package statuslist

import "math/rand/v2"

// newTestRand returns a deterministic generator for tests.
func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// newTestReader returns a deterministic io.Reader of random bytes.
func newTestReader(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}
