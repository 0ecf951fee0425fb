package issuer

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// NewToken describes a token to make.
type NewToken struct {
	Role Role
	Name string
	// Authority limits the token to one authority's records; "" for all.
	Authority string
	// TTL is the token's lifetime; 0 means the service's default (90 days).
	TTL time.Duration
}

// MaxTokenTTL is the longest lifetime a token may be given.
const MaxTokenTTL = 2 * 365 * 24 * time.Hour

// CreateToken makes an official's API token and returns its secret, shown
// once and never stored, with its record. An administrator limited to one
// authority makes tokens for that authority only.
func (s *Service) CreateToken(ctx context.Context, by Official, t NewToken, now time.Time) (string, Token, error) {
	if err := requireRole(by, RoleAdmin); err != nil {
		return "", Token{}, err
	}
	name := strings.TrimSpace(t.Name)
	if !t.Role.Valid() {
		return "", Token{}, invalid("bad_token_request", "角色须为 officer、revoker、auditor 或 admin", "role %q: want officer, revoker, auditor or admin", string(t.Role))
	}
	if name == "" || len(name) > 64 || !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0 {
		return "", Token{}, invalid("bad_token_request", "名称须为 1 至 64 字节的可见文字", "the name must be 1 to 64 bytes of visible text")
	}
	if t.Authority != "" && s.bySlug[t.Authority] == nil {
		return "", Token{}, invalid("bad_token_request", "本服务没有发证机关 %q", "no authority %q is hosted here", clip(t.Authority))
	}
	if by.Authority != "" && t.Authority != by.Authority {
		return "", Token{}, refuse(KindForbidden, "other_authority", "此令牌只能为 %s 签发令牌", "this token acts for authority %s and makes tokens for it only", by.Authority)
	}
	ttl := t.TTL
	if ttl == 0 {
		ttl = s.cfg.TokenTTL
	}
	if ttl < time.Minute || ttl > MaxTokenTTL {
		return "", Token{}, invalid("bad_token_request", "有效期须在 1 分钟至 2 年之间", "a token lives between a minute and two years")
	}
	secret, err := s.newSecret(TokenPrefix)
	if err != nil {
		return "", Token{}, err
	}
	h := Hash(secret)
	tok := Token{ID: h[:12], Name: name, Role: t.Role, Authority: t.Authority, Created: now.UTC(), CreatedBy: by.actorName(),
		Expires: now.Add(ttl).UTC().Truncate(time.Second)}
	err = s.update(ctx, func(tx Tx) error {
		if err := putJSON(tx, BucketTokens, []byte(h), tok); err != nil {
			return err
		}
		return appendAudit(tx, entry(by, "token.create", "token:"+tok.ID, t.Authority, now,
			map[string]string{"role": string(t.Role), "name": name, "expires": tok.Expires.Format(time.RFC3339)}))
	})
	if err != nil {
		return "", Token{}, err
	}
	return secret, tok, nil
}

// Bootstrap makes the first administrator's token when the store has no
// token at all, and returns its secret ("" when tokens exist).
func (s *Service) Bootstrap(ctx context.Context, now time.Time) (string, error) {
	n := 0
	if err := s.view(ctx, func(tx Tx) error {
		return tx.Scan(BucketTokens, nil, nil, false, func(_, _ []byte) (bool, error) { n++; return false, nil })
	}); err != nil || n > 0 {
		return "", err
	}
	secret, _, err := s.CreateToken(ctx, Official{Name: "permitd", Role: RoleAdmin}, NewToken{Role: RoleAdmin, Name: "first administrator"}, now)
	return secret, err
}

// Authenticate returns the working token whose secret is given, or an
// error matching ErrUnauthorized for an unknown, expired or revoked one.
// It records when a token was last used, at most once a minute.
func (s *Service) Authenticate(ctx context.Context, secret string, now time.Time) (Token, error) {
	unauthorized := refuse(KindUnauthorized, "unauthorized", "令牌无效、已过期或已吊销", "unknown, expired or revoked token")
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return Token{}, unauthorized
	}
	h := Hash(secret)
	var t Token
	var found bool
	if err := s.view(ctx, func(tx Tx) (err error) { found, err = getJSON(tx, BucketTokens, []byte(h), &t); return }); err != nil {
		return Token{}, err
	}
	if !found || !t.Active(now) {
		return Token{}, unauthorized
	}
	s.usedMu.Lock()
	stale := now.Sub(s.lastUsed[t.ID]) >= time.Minute
	if stale {
		s.lastUsed[t.ID] = now
	}
	s.usedMu.Unlock()
	if stale {
		err := s.update(ctx, func(tx Tx) error {
			var cur Token
			ok, err := getJSON(tx, BucketTokens, []byte(h), &cur)
			if err != nil || !ok {
				return err
			}
			cur.LastUsed = now.UTC().Truncate(time.Second)
			return putJSON(tx, BucketTokens, []byte(h), cur)
		})
		if err != nil {
			s.log.Warn("record token use", "token", t.ID, "err", err)
		}
	}
	return t, nil
}

// Tokens lists the tokens an administrator may manage: all of them for a
// provincial one, its authority's for a limited one; newest first.
func (s *Service) Tokens(ctx context.Context, by Official) ([]Token, error) {
	if err := requireRole(by, RoleAdmin); err != nil {
		return nil, err
	}
	var out []Token
	err := s.view(ctx, func(tx Tx) error {
		out = out[:0]
		return tx.Scan(BucketTokens, nil, nil, false, func(_, v []byte) (bool, error) {
			var t Token
			if err := json.Unmarshal(v, &t); err != nil {
				return false, err
			}
			if by.Authority == "" || t.Authority == by.Authority {
				out = append(out, t)
			}
			return true, nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, err
}

// RevokeToken withdraws the token with the given public id: from then on
// it gets ErrUnauthorized.
func (s *Service) RevokeToken(ctx context.Context, by Official, id string, now time.Time) (Token, error) {
	if err := requireRole(by, RoleAdmin); err != nil {
		return Token{}, err
	}
	var out Token
	err := s.update(ctx, func(tx Tx) error {
		var key []byte
		var t Token
		err := tx.Scan(BucketTokens, nil, nil, false, func(k, v []byte) (bool, error) {
			var c Token
			if err := json.Unmarshal(v, &c); err != nil {
				return false, err
			}
			if c.ID == id {
				key, t = append([]byte(nil), k...), c
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		if key == nil || !by.Covers(t.Authority) || (by.Authority != "" && t.Authority == "") {
			return notFound("token", "令牌")
		}
		if !t.Revoked.IsZero() {
			return conflict("token_revoked", "该令牌已于 %s 吊销", "the token was revoked on %s", t.Revoked.Format(time.RFC3339))
		}
		t.Revoked = now.UTC().Truncate(time.Second)
		if err := putJSON(tx, BucketTokens, key, t); err != nil {
			return err
		}
		out = t
		return appendAudit(tx, entry(by, "token.revoke", "token:"+id, t.Authority, now, map[string]string{"name": t.Name, "role": string(t.Role)}))
	})
	return out, err
}
