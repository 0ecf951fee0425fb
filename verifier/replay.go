package verifier

import (
	"sync"
	"time"
)

// ReplayCache remembers the nonces of presentations seen within their
// freshness window, so that the same live code shown twice is caught. It is
// safe for concurrent use; memory is bounded by the number of presentations
// within one window.
type ReplayCache struct {
	mu   sync.Mutex
	seen map[string]time.Time // nonce -> forget after
	next time.Time            // next sweep of expired entries
}

// NewReplayCache returns an empty cache.
func NewReplayCache() *ReplayCache { return &ReplayCache{seen: map[string]time.Time{}} }

// Check records key until forgetAt and reports whether it was already
// recorded and not yet forgotten at now.
func (c *ReplayCache) Check(key string, now, forgetAt time.Time) (seen bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.After(c.next) {
		for k, t := range c.seen {
			if now.After(t) {
				delete(c.seen, k)
			}
		}
		c.next = now.Add(time.Minute)
	}
	if t, ok := c.seen[key]; ok && !now.After(t) {
		return true
	}
	c.seen[key] = forgetAt
	return false
}
