package trustcache_test

import (
	"context"
	"fmt"
	"os"

	"github.com/epermit/epermit/trustcache"
	"github.com/epermit/epermit/verifier"
)

// A verifier syncs its trust data while online, then checks scanned codes
// offline against what the cache holds.
func Example() {
	// A fake issuer service: a root-signed trust list and two status lists.
	svc := buildWorld(func(err error) {
		if err != nil {
			panic(err)
		}
	})
	defer svc.srv.Close()
	dir, err := os.MkdirTemp("", "trustcache-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	now := t0

	// Online: the first sync pins the root key by its thumbprint.
	c, err := trustcache.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := c.Sync(context.Background(), nil, svc.srv.URL, pin, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range rep.Items {
		fmt.Println(it.Kind, it.Result)
	}

	// Offline: verify a scanned code against the held trust data.
	t, err := c.Trust()
	if err != nil {
		fmt.Println(err)
		return
	}
	scanned := svc.present(svc.credential(now), now)
	r := verifier.Verify(scanned, verifier.Options{Trust: t, Now: now})
	fmt.Println(r.Valid, r.Status)
	// Output:
	// trust list updated
	// status list updated
	// status list updated
	// true valid
}
