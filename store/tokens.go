package store

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// TokenPrefix starts every official's API token, so a leaked one is easy to
// recognise in logs and by secret scanners.
const TokenPrefix = "ept_"

// CreateToken makes an API token for an official with the role, name and
// authority of t (the other fields are filled in), stores its hash and
// returns the secret, which is shown once and never stored.
func (db *DB) CreateToken(t APIToken, actor Actor, now time.Time) (string, APIToken, error) {
	role, name := t.Role, t.Name
	if !role.Valid() {
		return "", APIToken{}, fmt.Errorf("store: create token: role %q: want officer, revoker, auditor or admin", role)
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || !utf8.ValidString(name) {
		return "", APIToken{}, fmt.Errorf("store: create token: name must be 1 to 64 bytes")
	}
	secret, err := db.NewSecret(TokenPrefix)
	if err != nil {
		return "", APIToken{}, err
	}
	if len(t.Authority) > 32 || strings.ContainsAny(t.Authority, "/ \t\n") {
		return "", APIToken{}, fmt.Errorf("store: create token: authority %q", t.Authority)
	}
	h := Hash(secret)
	t = APIToken{ID: h[:12], Name: name, Role: role, Authority: t.Authority, Created: now.UTC()}
	err = db.batch(func(tx *bolt.Tx) error {
		if err := putJSON(tx.Bucket(bTokens), []byte(h), t); err != nil {
			return err
		}
		detail := map[string]string{"role": string(role), "name": name}
		if t.Authority != "" {
			detail["authority"] = t.Authority
		}
		return appendAudit(tx, entry(actor, "token.create", "token:"+t.ID, now, detail))
	})
	if err != nil {
		return "", APIToken{}, fmt.Errorf("store: create token: %w", err)
	}
	return secret, t, nil
}

// Authenticate returns the token whose secret is given, or an error
// wrapping ErrUnauthorized.
func (db *DB) Authenticate(secret string) (APIToken, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return APIToken{}, fmt.Errorf("store: %w", ErrUnauthorized)
	}
	var t APIToken
	err := db.b.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bTokens), []byte(Hash(secret)), &t) })
	if err != nil {
		return APIToken{}, fmt.Errorf("store: %w", ErrUnauthorized)
	}
	return t, nil
}

// TokenCount returns the number of API tokens.
func (db *DB) TokenCount() (int, error) {
	var n int
	err := db.b.View(func(tx *bolt.Tx) error { n = tx.Bucket(bTokens).Stats().KeyN; return nil })
	return n, err
}
