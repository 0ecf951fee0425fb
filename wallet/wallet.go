package wallet

import (
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/epermit/epermit/keys"
)

// Names inside a wallet directory.
const (
	deviceKeyFile  = "device.key"
	credentialsDir = "credentials"
	credentialExt  = ".sd-jwt"
)

// Wallet is a resident's wallet: a device key and the credentials issued to
// it, kept in one directory. It holds no state besides the key and the
// directory name, so several Wallet values, or processes, may use the same
// directory; each Add replaces a file atomically.
type Wallet struct {
	dir string
	key crypto.Signer
	pub crypto.PublicKey
}

// Init creates a new wallet in dir with an Ed25519 device key: InitAlg
// with keys.AlgEdDSA.
func Init(dir string) (*Wallet, error) { return InitAlg(dir, keys.AlgEdDSA) }

// InitAlg creates a new wallet in dir: the directory with mode 0700 (and
// any missing parents), a new device key in dir/device.key (PKCS#8 PEM,
// mode 0600) and an empty dir/credentials with mode 0700. The device key is
// Ed25519 for keys.AlgEdDSA and ECDSA P-256 for keys.AlgES256, the key
// phones keep in secure hardware. It refuses a dir that already holds a
// device key, with an error wrapping fs.ErrExist, and an existing dir that
// group or others may access (*InsecureDirError).
func InitAlg(dir, alg string) (*Wallet, error) {
	if dir == "" {
		return nil, errors.New("wallet: init: empty directory name")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wallet: init: %w", err)
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	keyPath := filepath.Join(dir, deviceKeyFile)
	if _, err := os.Lstat(keyPath); err == nil {
		return nil, fmt.Errorf("wallet: init: %q already holds a device key: %w", dir, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("wallet: init: %w", err)
	}
	// The credentials directory comes first: an Init that fails after it
	// leaves no key behind, so it can simply be run again.
	creds := filepath.Join(dir, credentialsDir)
	if err := os.Mkdir(creds, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("wallet: init: %w", err)
	}
	if err := checkDir(creds); err != nil {
		return nil, err
	}
	key, err := keys.GenerateDeviceKey(alg)
	if err != nil {
		return nil, fmt.Errorf("wallet: init: %w", err)
	}
	// WriteDeviceKeyFile never replaces a file, so two racing Inits end
	// with one key and one fs.ErrExist.
	if err := keys.WriteDeviceKeyFile(keyPath, key); err != nil {
		return nil, fmt.Errorf("wallet: init: %w", err)
	}
	return newWallet(dir, key), nil
}

// Open opens the wallet in dir. It refuses a wallet directory or
// credentials directory that group or others may access, with an
// *InsecureDirError naming the directory and the fix (chmod 700), and a
// device key file they may access, with the *keys.InsecurePermissionsError
// of keys.LoadPrivateKeyFile (chmod 600). Both match
// keys.ErrInsecurePermissions.
func Open(dir string) (*Wallet, error) {
	if dir == "" {
		return nil, errors.New("wallet: open: empty directory name")
	}
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	key, err := keys.LoadDeviceKeyFile(filepath.Join(dir, deviceKeyFile))
	if err != nil {
		return nil, fmt.Errorf("wallet: open: %w", err)
	}
	if err := checkDir(filepath.Join(dir, credentialsDir)); err != nil {
		return nil, err
	}
	w := newWallet(dir, key)
	if err := w.migrate(); err != nil {
		return nil, fmt.Errorf("wallet: open: %w", err)
	}
	return w, nil
}

func newWallet(dir string, key crypto.Signer) *Wallet {
	return &Wallet{dir: dir, key: key, pub: key.Public()}
}

// checkDir refuses a path that is not a directory or whose mode grants any
// permission to group or others. On Windows, where Go does not report POSIX
// permissions, the mode is not checked.
func checkDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("wallet: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("wallet: %q is not a directory", path)
	}
	if !isWindows() && fi.Mode().Perm()&0o077 != 0 {
		return &InsecureDirError{Path: path, Mode: fi.Mode().Perm()}
	}
	return nil
}

// Dir returns the wallet's directory.
func (w *Wallet) Dir() string { return w.dir }

// Public returns the device's public key, the key credentials must name in
// their cnf claim: an ed25519.PublicKey or a P-256 *ecdsa.PublicKey. The
// caller must not modify it.
func (w *Wallet) Public() crypto.PublicKey { return w.pub }

// Alg returns the JOSE algorithm of the device key: keys.AlgEdDSA for
// Ed25519, keys.AlgES256 for ECDSA P-256.
func (w *Wallet) Alg() string { return w.JWK().Alg }

// JWK returns the device's public key as a JWK, with its RFC 7638
// thumbprint as kid: what the wallet sends an issuer to have a credential
// bound to this device.
func (w *Wallet) JWK() keys.JWK {
	j, err := keys.HolderJWK(w.pub)
	if err != nil {
		// The key was generated or loaded as a device key: this cannot
		// happen, and an empty JWK is refused by anything it is given to.
		return keys.JWK{}
	}
	return j
}

// Signer returns the device key as a crypto.Signer, for proofs of
// possession towards an issuer. It gives signing access to the key: do not
// hand it to code that is not trusted with the wallet.
func (w *Wallet) Signer() crypto.Signer { return w.key }

func isWindows() bool { return runtime.GOOS == "windows" }
