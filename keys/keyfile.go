package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

const (
	pemType = "PRIVATE KEY"

	// maxKeyFileSize bounds how much of a key file is read. An Ed25519
	// PKCS#8 PEM file is 119 bytes.
	maxKeyFileSize = 64 << 10

	// keyFileExt is the extension LoadOrCreate gives key files.
	keyFileExt = ".key"
)

// Generate returns a new Ed25519 private key drawn from crypto/rand.
func Generate() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keys: generate ed25519 key: %w", err)
	}
	return priv, nil
}

// GenerateDeviceKey returns a new holder device key drawn from crypto/rand:
// an ed25519.PrivateKey for [AlgEdDSA] or an *ecdsa.PrivateKey on P-256 for
// [AlgES256]. Issuer keys are Ed25519 and come from [Generate].
func GenerateDeviceKey(alg string) (crypto.Signer, error) {
	switch alg {
	case AlgEdDSA, algEd25519:
		return Generate()
	case AlgES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keys: generate p-256 key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("keys: device key algorithm %q, want %q or %q", clip(alg), AlgEdDSA, AlgES256)
}

// MarshalPrivateKeyPEM encodes key as a PKCS#8 "PRIVATE KEY" PEM block.
// It refuses a key that is not 64 bytes or whose public half does not
// belong to its seed.
func MarshalPrivateKeyPEM(key ed25519.PrivateKey) ([]byte, error) {
	if err := checkPrivateKey(key); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return marshalPEM(key)
}

func marshalPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("keys: marshal pkcs#8: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}), nil
}

// checkDeviceKey refuses a device key that is neither a valid Ed25519 key
// nor an ECDSA key on P-256.
func checkDeviceKey(key crypto.Signer) error {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return checkPrivateKey(k)
	case *ecdsa.PrivateKey:
		if k == nil || k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: ecdsa key not on P-256", ErrInvalidPrivateKey)
		}
		return nil
	}
	return fmt.Errorf("%w: device key is %T, want Ed25519 or ECDSA P-256", ErrInvalidPrivateKey, key)
}

// ParsePrivateKeyPEM decodes one PKCS#8 "PRIVATE KEY" PEM block holding an
// Ed25519 key. It refuses anything else: other block types, PEM headers
// (encrypted keys), trailing blocks, and other key algorithms.
func ParsePrivateKeyPEM(data []byte) (ed25519.PrivateKey, error) {
	key, err := parsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return key, nil
}

// parsePrivateKeyPEM returns errors without the "keys: " prefix so that
// callers can add their own context.
func parsePrivateKeyPEM(data []byte) (ed25519.PrivateKey, error) {
	parsed, err := parsePKCS8PEM(data)
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: PKCS#8 key is %T, want ed25519.PrivateKey", ErrInvalidPrivateKey, parsed)
	}
	return key, nil
}

// parsePKCS8PEM decodes one PKCS#8 "PRIVATE KEY" PEM block holding an
// Ed25519 or ECDSA P-256 key.
func parsePKCS8PEM(data []byte) (crypto.Signer, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrInvalidPrivateKey)
	}
	if block.Type != pemType {
		return nil, fmt.Errorf("%w: PEM block type %q, want %q", ErrInvalidPrivateKey, block.Type, pemType)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("%w: PEM block has headers (encrypted or legacy key?)", ErrInvalidPrivateKey)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the PEM block", ErrInvalidPrivateKey)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		// The x509 error describes the structure, never the key bytes.
		return nil, fmt.Errorf("%w: %w", ErrInvalidPrivateKey, err)
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: PKCS#8 key is %T, want ed25519.PrivateKey", ErrInvalidPrivateKey, parsed)
	}
	if err := checkDeviceKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

// checkPrivateKey verifies the length of key and that its public half is the
// one its seed derives; a mismatch would produce signatures that no verifier
// accepts for the advertised public key.
func checkPrivateKey(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: ed25519 private key is %d bytes, want %d", ErrInvalidPrivateKey, len(key), ed25519.PrivateKeySize)
	}
	derived := ed25519.NewKeyFromSeed(key.Seed())
	if subtle.ConstantTimeCompare(derived, key) != 1 {
		return fmt.Errorf("%w: public half does not match the seed", ErrInvalidPrivateKey)
	}
	return nil
}

// WritePrivateKeyFile writes key to path as PKCS#8 PEM with mode 0600.
//
// The write is atomic: the key goes to a temporary file in the same
// directory, which is synced and then linked into place, so path either does
// not exist or holds the complete key, even after a crash. WritePrivateKeyFile
// never replaces an existing file: if path exists it returns an error that
// wraps fs.ErrExist. On file systems without hard links it falls back to a
// rename after checking that path is absent (a narrow race remains there).
func WritePrivateKeyFile(path string, key ed25519.PrivateKey) (err error) {
	data, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		return err
	}
	return writeKeyFile(path, data)
}

// WriteDeviceKeyFile writes a holder device key, Ed25519 or ECDSA P-256, to
// path as WritePrivateKeyFile writes an Ed25519 key: PKCS#8 PEM, mode 0600,
// atomically, never replacing an existing file.
func WriteDeviceKeyFile(path string, key crypto.Signer) error {
	if err := checkDeviceKey(key); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	data, err := marshalPEM(key)
	if err != nil {
		return err
	}
	return writeKeyFile(path, data)
}

// writeKeyFile is WritePrivateKeyFile for PEM data.
func writeKeyFile(path string, data []byte) (err error) {
	existErr := fmt.Errorf("keys: private key file %q: %w (refusing to overwrite)", path, fs.ErrExist)
	if _, err := os.Lstat(path); err == nil {
		return existErr
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keys: private key file: %w", err)
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("keys: private key file: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		// After a successful link the temporary name is a second link to
		// the key; after a failure it is a partial file. Remove it either way.
		if rerr := os.Remove(tmpName); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("keys: remove temporary key file: %w", rerr)
		}
	}()
	if err := writeAndSync(tmp, data); err != nil {
		return fmt.Errorf("keys: write temporary key file: %w", err)
	}

	if lerr := os.Link(tmpName, path); lerr != nil {
		if errors.Is(lerr, fs.ErrExist) {
			return existErr
		}
		// No hard links here (some FUSE and network file systems).
		if _, serr := os.Lstat(path); serr == nil {
			return existErr
		}
		if rerr := os.Rename(tmpName, path); rerr != nil {
			return fmt.Errorf("keys: private key file: %w", rerr)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("keys: sync key directory: %w", err)
	}
	return nil
}

// writeAndSync writes data to f, sets mode 0600, syncs and closes it.
func writeAndSync(f *os.File, data []byte) error {
	// CreateTemp already uses 0600; Chmod makes the intent explicit and
	// independent of how the temporary file was made.
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a new directory entry durable. File systems that cannot sync
// a directory (EINVAL), and Windows, are tolerated.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	cerr := d.Close()
	if err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return cerr
}

// LoadPrivateKeyFile reads an Ed25519 PKCS#8 PEM private key from path.
//
// It refuses a file whose mode grants any permission to group or others with
// an *InsecurePermissionsError (errors.Is(err, ErrInsecurePermissions)), and
// refuses anything that is not a regular file. The mode is taken from the
// opened file, so it is the mode of the bytes actually read. On Windows,
// where Go does not report POSIX permissions, the mode check is skipped.
// Malformed contents yield an error wrapping ErrInvalidPrivateKey.
func LoadPrivateKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	key, err := parsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("keys: private key file %q: %w", path, err)
	}
	return key, nil
}

// LoadDeviceKeyFile reads a holder device key, an ed25519.PrivateKey or an
// *ecdsa.PrivateKey on P-256, from a PKCS#8 PEM file, with the checks of
// LoadPrivateKeyFile.
func LoadDeviceKeyFile(path string) (crypto.Signer, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	key, err := parsePKCS8PEM(data)
	if err != nil {
		return nil, fmt.Errorf("keys: private key file %q: %w", path, err)
	}
	return key, nil
}

// readKeyFile reads a private key file with the checks LoadPrivateKeyFile
// documents.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: private key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keys: private key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("keys: private key file %q: %w: not a regular file (mode %v)", path, ErrInvalidPrivateKey, info.Mode())
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, &InsecurePermissionsError{Path: path, Mode: info.Mode().Perm()}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("keys: private key file %q: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("keys: private key file %q: %w: larger than %d bytes", path, ErrInvalidPrivateKey, maxKeyFileSize)
	}
	return data, nil
}

// LoadOrCreate loads the private key DIR/NAME.key, or generates and writes a
// new one if that file does not exist; created reports which happened. dir is
// created with mode 0700 if missing. name must be a plain file name without
// separators; the ".key" extension is added to it. If two processes race to create the
// key, both end up with the one that reached the disk first.
func LoadOrCreate(dir, name string) (key ed25519.PrivateKey, created bool, err error) {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name || !filepath.IsLocal(name) {
		return nil, false, fmt.Errorf("keys: key name %q: must be a plain file name", name)
	}
	path := filepath.Join(dir, name+keyFileExt)
	key, err = LoadPrivateKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("keys: key directory: %w", err)
	}
	key, err = Generate()
	if err != nil {
		return nil, false, err
	}
	if err := WritePrivateKeyFile(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			key, err = LoadPrivateKeyFile(path)
			return key, false, err
		}
		return nil, false, err
	}
	return key, true, nil
}
