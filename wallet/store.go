package wallet

import (
	"cmp"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/atomicfile"
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
// (ErrInvalidCredential). Credentials are kept by issuer and permit number:
// Add never replaces a credential of one issuer with one of another, and
// refuses a credential whose permit number the wallet holds from another
// issuer (ErrIssuerConflict), as a phishing issuer would send. The
// credential is written atomically, mode 0600, replacing the one held from
// the same issuer for the same permit number unless that one was issued
// later (ErrSuperseded): an endorsement re-issues the permit under the same
// number.
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
	files, err := w.files()
	if err != nil {
		return Entry{}, fmt.Errorf("wallet: add %q: %w", e.PermitNo, err)
	}
	tag := issuerTag(e.Issuer)
	for _, f := range files {
		if f.permitNo != e.PermitNo {
			continue
		}
		if f.tag != tag {
			other := "another issuer"
			if old, _, err := w.load(f); err == nil {
				other = fmt.Sprintf("%q", old.Issuer)
			}
			return Entry{}, fmt.Errorf("wallet: add %q from %q: %w: it is held from %s", e.PermitNo, e.Issuer, ErrIssuerConflict, other)
		}
		// A held credential that cannot be read is replaced: the new one
		// has just been checked, the old one is of no use.
		if old, _, err := w.load(f); err == nil && old.IssuedAt.After(e.IssuedAt) {
			return Entry{}, fmt.Errorf("wallet: add %q: %w: held one issued %s, this one %s",
				e.PermitNo, ErrSuperseded, old.IssuedAt.UTC().Format(time.RFC3339), e.IssuedAt.UTC().Format(time.RFC3339))
		}
	}
	if err := atomicfile.Write(w.credPath(e.Issuer, e.PermitNo), []byte(p.WithoutKeyBinding()), 0o600); err != nil {
		return Entry{}, fmt.Errorf("wallet: add %q: %w", e.PermitNo, err)
	}
	return e, nil
}

// credFile is a credential file of the current layout,
// credentials/<permit number>.<issuer tag>.sd-jwt.
type credFile struct {
	path, permitNo, tag string
}

// issuerTag names an issuer in a file name: 16 characters of base64url of
// the SHA-256 of its iss, which any iss (an https URL) can have.
func issuerTag(iss string) string {
	sum := sha256.Sum256([]byte(iss))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (w *Wallet) credPath(iss, permitNo string) string {
	return filepath.Join(w.dir, credentialsDir, permitNo+"."+issuerTag(iss)+credentialExt)
}

// files lists the credential files of the current layout, by name only.
// Temporary files, files of the old layout (see migrate) and anything else
// not named as a credential are left out.
func (w *Wallet) files() ([]credFile, error) {
	dir := filepath.Join(w.dir, credentialsDir)
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []credFile
	for _, de := range des {
		name := de.Name()
		stem, ok := strings.CutSuffix(name, credentialExt)
		if !ok || strings.HasPrefix(name, ".") || !de.Type().IsRegular() {
			continue
		}
		no, tag, ok := strings.Cut(stem, ".")
		if !ok || !validPermitNo(no) || len(tag) != 16 || !validPermitNo(tag) {
			continue
		}
		out = append(out, credFile{path: filepath.Join(dir, name), permitNo: no, tag: tag})
	}
	return out, nil
}

// List returns the entries of every credential held, sorted by permit
// number and issuer. It fails if a stored credential cannot be read or no
// longer decodes, naming the file.
func (w *Wallet) List() ([]Entry, error) {
	files, err := w.files()
	if err != nil {
		return nil, fmt.Errorf("wallet: list: %w", err)
	}
	var out []Entry
	for _, f := range files {
		e, _, err := w.load(f)
		if err != nil {
			return nil, fmt.Errorf("wallet: list: %w", err)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.PermitNo, b.PermitNo), cmp.Compare(a.Issuer, b.Issuer))
	})
	return out, nil
}

// Get returns the entry and the issued credential held for permitNo. With
// permitNo empty it returns the only credential held, and fails with
// ErrAmbiguous when there are several; ErrAmbiguous also reports a permit
// number held from several issuers, which Add does not let happen. It
// returns ErrNotFound when there is no such credential. The stored
// credential is decoded but its issuer signature is not verified again.
func (w *Wallet) Get(permitNo string) (Entry, string, error) {
	if permitNo != "" && !validPermitNo(permitNo) {
		return Entry{}, "", fmt.Errorf("wallet: %w: %q is not a permit number", ErrNotFound, permitNo)
	}
	files, err := w.files()
	if err != nil {
		return Entry{}, "", fmt.Errorf("wallet: get: %w", err)
	}
	var match []credFile
	for _, f := range files {
		if permitNo == "" || f.permitNo == permitNo {
			match = append(match, f)
		}
	}
	switch {
	case len(match) == 0 && permitNo == "":
		return Entry{}, "", fmt.Errorf("wallet: %w: the wallet holds no credential", ErrNotFound)
	case len(match) == 0:
		return Entry{}, "", fmt.Errorf("wallet: get: %w: %q", ErrNotFound, permitNo)
	case len(match) > 1:
		all, err := w.List()
		if err != nil {
			return Entry{}, "", err
		}
		var held []string
		for _, e := range all {
			if permitNo == "" || e.PermitNo == permitNo {
				held = append(held, e.PermitNo+" from "+e.Issuer)
			}
		}
		return Entry{}, "", fmt.Errorf("wallet: %w (%s)", ErrAmbiguous, strings.Join(held, ", "))
	}
	e, issued, err := w.load(match[0])
	if err != nil {
		return Entry{}, "", fmt.Errorf("wallet: get: %w", err)
	}
	return e, issued, nil
}

// load reads and decodes the credential file f and checks that it holds
// the permit and issuer its name says.
func (w *Wallet) load(f credFile) (Entry, string, error) {
	data, err := readFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, "", fmt.Errorf("%w: %q", ErrNotFound, f.permitNo)
	} else if err != nil {
		return Entry{}, "", err
	}
	_, c, err := decode(string(data), nil, w.pub)
	if err != nil {
		return Entry{}, "", fmt.Errorf("%s: %w", f.path, err)
	}
	if c.PermitNo != f.permitNo || issuerTag(c.Issuer) != f.tag {
		return Entry{}, "", fmt.Errorf("%s: %w: holds permit %q of issuer %q", f.path, ErrInvalidCredential, c.PermitNo, c.Issuer)
	}
	return entryOf(c), string(data), nil
}

// migrate moves credentials of the layout before issuers were told apart,
// credentials/<permit number>.sd-jwt, to the current one. Where both
// layouts hold the same credential, the one issued later is kept. A file of
// the old layout that does not decode is left in place and reported.
func (w *Wallet) migrate() error {
	dir := filepath.Join(w.dir, credentialsDir)
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		name := de.Name()
		no, ok := strings.CutSuffix(name, credentialExt)
		if !ok || strings.HasPrefix(name, ".") || !de.Type().IsRegular() || !validPermitNo(no) {
			continue
		}
		old := filepath.Join(dir, name)
		data, err := readFile(old)
		if errors.Is(err, fs.ErrNotExist) {
			continue // another process moved it
		} else if err != nil {
			return err
		}
		_, c, err := decode(string(data), nil, w.pub)
		if err != nil {
			return fmt.Errorf("%s: %w", old, err)
		}
		if c.PermitNo != no {
			return fmt.Errorf("%s: %w: holds permit %q", old, ErrInvalidCredential, c.PermitNo)
		}
		f := credFile{path: w.credPath(c.Issuer, no), permitNo: no, tag: issuerTag(c.Issuer)}
		if held, _, err := w.load(f); err == nil && !c.IssuedAt.After(held.IssuedAt) {
			if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if err := os.Rename(old, f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Inspect checks an issued credential as Add does, against the issuer's
// keys and for the device key device (an ed25519.PublicKey or a P-256
// *ecdsa.PublicKey), and returns its entry, without storing it: for a
// wallet whose storage is elsewhere, such as a browser's.
func Inspect(issued string, issuerKeys *keys.JWKS, device crypto.PublicKey) (Entry, error) {
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
func decode(issued string, issuerKeys *keys.JWKS, device crypto.PublicKey) (sdjwt.Presentation, *credential.Claims, error) {
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
		}, sdjwt.TypeVCLegacy)
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
	if !keys.SameKey(payload.Holder(), device) {
		return sdjwt.Presentation{}, nil, fmt.Errorf("wallet: %w: bound to key %s, this device's is %s",
			ErrNotMyKey, thumbprint(payload.Holder()), thumbprint(device))
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

// thumbprint names a public key in an error.
func thumbprint(pub crypto.PublicKey) string {
	j, err := keys.HolderJWK(pub)
	if err != nil {
		return "(not a device key)"
	}
	return j.Kid
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
