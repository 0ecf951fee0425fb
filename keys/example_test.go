package keys_test

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/epermit/epermit/keys"
)

// The public key of RFC 8037 Appendix A.
func ExampleThumbprint() {
	pub, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	fmt.Println(keys.Thumbprint(pub))
	// Output: kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k
}

func ExampleRing() {
	// In a service the keys come from LoadOrCreate or a hardware signer.
	oldKey := ed25519.NewKeyFromSeed(make([]byte, 32))
	newKey := ed25519.NewKeyFromSeed([]byte("an example seed, 32 bytes long!!"))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	ring, err := keys.NewRing(keys.Entry{Signer: oldKey, NotBefore: start})
	if err != nil {
		fmt.Println(err)
		return
	}
	oldKid, _, _ := ring.Active()

	rotation := start.AddDate(0, 6, 0)
	if err := ring.Rotate(newKey, rotation); err != nil {
		fmt.Println(err)
		return
	}
	kid, signer, _ := ring.Active()
	sig, _ := signer.Sign(nil, []byte("payload"), crypto.Hash(0))

	pub, _ := ring.Verifier(kid, rotation.Add(time.Hour))
	fmt.Println("new key verifies:", ed25519.Verify(pub, []byte("payload"), sig))
	_, err = ring.Verifier(kid, start)
	fmt.Println("new key refused before rotation:", errors.Is(err, keys.ErrKeyNotValidAt))
	_, err = ring.Verifier(oldKid, rotation.Add(time.Hour))
	fmt.Println("old key still verifies:", err == nil)
	fmt.Println("published keys:", len(ring.JWKS().Keys))
	// Output:
	// new key verifies: true
	// new key refused before rotation: true
	// old key still verifies: true
	// published keys: 2
}
