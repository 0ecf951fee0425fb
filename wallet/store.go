package wallet

import (
	"cmp"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/epermit/epermit/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/jws"
	"github.com/epermit/epermit/keys"
	"github.com/epermit/epermit/sdjwt"
)

// maxCredentialSize bounds an issued credential, given to Add or read from
// disk. One with both groups disclosed is about 1.3 KB.
const maxCredentialSize = 64 << 10

// maxPermitNoLen bounds a permit number; those made by package permit have
// 14 characters.
const maxPermitNoLen = 64

// Add stores an issued credential (the SD-JWT with all its disclosures and
// no key-binding JWT, as the issuer hands it over) and returns its entry.
//
// With issuerKeys set, the issuer signature is verified with the key the
// JWT header's kid names in issuerKeys (ErrIssuerSignature when the kid is
// unknown or the signature fails). With issuerKeys nil, the payload is
// decoded WITHOUT verifying the signature: use this only for a credential
// received over a channel already authenticated to the issuer; a verifier
// will refuse a forged one anyway.
//
// Either way Add refuses a credential whose cnf key is not the device key
// (ErrNotMyKey), and one whose payload is not a permit or whose
// disclosures do not all parse and match a digest of the payload
// (ErrInvalidCredential). The credential is written atomically, mode 0600,
// to credentials/<permit number>.sd-jwt, replacing the one held for the same
// permit number unless that one was issued later (ErrSuperseded): an
// endorsement re-issues the permit under the same number.
func (w *Wallet) Add(issued string, issuerKeys *keys.JWKS) (Entry, error) {
	return w.add(issued, issuerKeys, "")
}

// add is Add that also refuses a credential whose iss is not wantIss, when
// given: the issuer the wallet asked.
func (w *Wallet) add(issued string, issuerKeys *keys.JWKS, wantIss string) (Entry, error) {
	p, c, err := decode(issued, issuerKeys, w.pub)
	if err != nil {
		return Entry{}, err
	}
	if wantIss != "" && c.Issuer != wantIss {
		return Entry{}, fmt.Errorf("wallet: %w: credential issued by %q, offer from %q", ErrInvalidCredential, c.Issuer, wantIss)
	}
	e := entryOf(c)
	if old, _, err := w.Get(e.PermitNo); err == nil && old.IssuedAt.After(e.IssuedAt) {
		return Entry{}, fmt.Errorf("wallet: add %q: %w: held one issued %s, this one %s",
			e.PermitNo, ErrSuperseded, old.IssuedAt.UTC().Format(time.RFC3339), e.IssuedAt.UTC().Format(time.RFC3339))
	}
	// A held credential that cannot be read is replaced: the new one has
	// just been checked, the old one is of no use.
	if err := atomicfile.Write(w.credPath(e.PermitNo), []byte(p.WithoutKeyBinding()), 0o600); err != nil {
		return Entry{}, fmt.Errorf("wallet: add %q: %w", e.PermitNo, err)
	}
	return e, nil
}

// List returns the entries of every credential held, sorted by permit
// number. It fails if a stored credential cannot be read or no longer
// decodes, naming the file.
func (w *Wallet) List() ([]Entry, error) {
	dir := filepath.Join(w.dir, credentialsDir)
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wallet: list: %w", err)
	}
	var out []Entry
	for _, de := range des {
		name := de.Name()
		no, ok := strings.CutSuffix(name, credentialExt)
		if !ok || strings.HasPrefix(name, ".") || !de.Type().IsRegular() {
			continue // temporary files and anything else not ours
		}
		e, _, err := w.load(no)
		if err != nil {
			return nil, fmt.Errorf("wallet: list: %w", err)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(a.PermitNo, b.PermitNo) })
	return out, nil
}

// Get returns the entry and the issued credential held for permitNo. With
// permitNo empty it returns the only credential held, and fails with
// ErrAmbiguous when there are several. It returns ErrNotFound when there is
// no such credential. The stored credential is decoded but its issuer
// signature is not verified again.
func (w *Wallet) Get(permitNo string) (Entry, string, error) {
	if permitNo == "" {
		all, err := w.List()
		if err != nil {
			return Entry{}, "", err
		}
		switch len(all) {
		case 0:
			return Entry{}, "", fmt.Errorf("wallet: %w: the wallet holds no credential", ErrNotFound)
		case 1:
			permitNo = all[0].PermitNo
		default:
			nos := make([]string, len(all))
			for i, e := range all {
				nos[i] = e.PermitNo
			}
			return Entry{}, "", fmt.Errorf("wallet: %w (%s)", ErrAmbiguous, strings.Join(nos, ", "))
		}
	}
	if !validPermitNo(permitNo) {
		return Entry{}, "", fmt.Errorf("wallet: %w: %q is not a permit number", ErrNotFound, permitNo)
	}
	e, issued, err := w.load(permitNo)
	if err != nil {
		return Entry{}, "", fmt.Errorf("wallet: get: %w", err)
	}
	return e, issued, nil
}

// load reads and decodes the credential stored for permitNo, which must be
// a valid permit number.
func (w *Wallet) load(permitNo string) (Entry, string, error) {
	path := w.credPath(permitNo)
	data, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, "", fmt.Errorf("%w: %q", ErrNotFound, permitNo)
	} else if err != nil {
		return Entry{}, "", err
	}
	_, c, err := decode(string(data), nil, w.pub)
	if err != nil {
		return Entry{}, "", fmt.Errorf("%s: %w", path, err)
	}
	if c.PermitNo != permitNo {
		return Entry{}, "", fmt.Errorf("%s: %w: holds permit %q", path, ErrInvalidCredential, c.PermitNo)
	}
	return entryOf(c), string(data), nil
}

func (w *Wallet) credPath(permitNo string) string {
	return filepath.Join(w.dir, credentialsDir, permitNo+credentialExt)
}

// Inspect checks an issued credential as Add does, against the issuer's
// keys and for the device key device, and returns its entry, without
// storing it: for a wallet whose storage is elsewhere, such as a browser's.
func Inspect(issued string, issuerKeys *keys.JWKS, device ed25519.PublicKey) (Entry, error) {
	if issuerKeys == nil {
		return Entry{}, fmt.Errorf("wallet: inspect: %w: no issuer keys", ErrIssuerSignature)
	}
	_, c, err := decode(issued, issuerKeys, device)
	if err != nil {
		return Entry{}, err
	}
	return entryOf(c), nil
}

// decode parses an issued credential and checks it as Add documents,
// verifying the issuer signature only when issuerKeys is not nil.
func decode(issued string, issuerKeys *keys.JWKS, device ed25519.PublicKey) (sdjwt.Presentation, *credential.Claims, error) {
	issued = strings.TrimSpace(issued)
	if len(issued) > maxCredentialSize {
		return sdjwt.Presentation{}, nil, fmt.Errorf("wallet: %w: %d bytes, at most %d", ErrInvalidCredential, len(issued), maxCredentialSize)
	}
	p, err := sdjwt.Split(issued)
	if err != nil {
		return sdjwt.Presentation{}, nil, fmt.Errorf("wallet: %w: %w", ErrInvalidCredential, err)
	}
	if p.KeyBinding != "" {
		return sdjwt.Presentation{}, nil, fmt.Errorf("wallet: %w: it carries a key-binding JWT; give the credential as issued", ErrInvalidCredential)
	}
	var raw []byte
	if issuerKeys != nil {
		tok, err := jws.Verify(p.IssuerJWT, sdjwt.TypeVC, func(h jws.Header) (ed25519.PublicKey, error) {
			pub, ok := issuerKeys.Lookup(h.Kid)
			if !ok {
				return nil, fmt.Errorf("%w: kid %q", jws.ErrUnknownKey, h.Kid)
			}
			return pub, nil
		})
		if err != nil {
			return sdjwt.Presentation{}, nil, fmt.Errorf("wallet: %w: %w", ErrIssuerSignature, err)
		}
		raw = tok.Payload
	} else {
		raw, err = unverifiedPayload(p.IssuerJWT)
		if err != nil {
			return sdjwt.Presentation{}, nil, err
		}
	}
	payload, err := credential.ParsePayload(raw)
	if err != nil {
		return sdjwt.Presentation{}, nil, fmt.Errorf("wallet: %w: %w", ErrInvalidCredential, err)
	}
	if !payload.Holder().Equal(device) {
		return sdjwt.Presentation{}, nil, fmt.Errorf("wallet: %w: bound to key %s, this device's is %s",
			ErrNotMyKey, keys.Thumbprint(payload.Holder()), keys.Thumbprint(device))
	}
	// Every disclosure is applied: one that does not parse, or that no
	// digest of the payload references, makes the credential unusable.
	c, err := payload.Disclose(p.Disclosures)
	if err != nil {
		return sdjwt.Presentation{}, nil, fmt.Errorf("wallet: %w: %w", ErrInvalidCredential, err)
	}
	if !validPermitNo(c.PermitNo) {
		return sdjwt.Presentation{}, nil, fmt.Errorf("wallet: %w: permit number %q", ErrInvalidCredential, c.PermitNo)
	}
	return p, c, nil
}

// unverifiedPayload decodes the payload of a compact JWS without checking
// its signature.
func unverifiedPayload(token string) ([]byte, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("wallet: %w: issuer JWT is not a compact JWS", ErrInvalidCredential)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("wallet: %w: issuer JWT payload: %w", ErrInvalidCredential, err)
	}
	return raw, nil
}

// validPermitNo reports whether s can name a credential file: 1 to 64
// ASCII letters, digits, '-' or '_', so that no permit number reaches
// outside the credentials directory or clashes with a temporary file.
func validPermitNo(s string) bool {
	if s == "" || len(s) > maxPermitNoLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// readFile reads at most maxCredentialSize bytes of a regular file.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w: not a regular file", path, ErrInvalidCredential)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCredentialSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCredentialSize {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrInvalidCredential, maxCredentialSize)
	}
	return data, nil
}
