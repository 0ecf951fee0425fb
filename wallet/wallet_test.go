package wallet

import (
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/epermit/epermit/keys"
)

func skipOnWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX permissions on Windows")
	}
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestInitOpen(t *testing.T) {
	t.Parallel()
	skipOnWindows(t)
	dir := filepath.Join(t.TempDir(), "a", "wallet") // parents are created too
	w, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want fs.FileMode
	}{
		{dir, 0o700},
		{filepath.Join(dir, "device.key"), 0o600},
		{filepath.Join(dir, "credentials"), 0o700},
	} {
		if got := mode(t, c.path); got != c.want {
			t.Errorf("%s: mode %#o, want %#o", c.path, got, c.want)
		}
	}

	w2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !keys.SameKey(w2.Public(), w.Public()) || w2.Alg() != "EdDSA" {
		t.Fatal("Open loaded another key than Init wrote")
	}
	if jwk := w2.JWK(); jwk.Kid != keys.Thumbprint(w.Public().(ed25519.PublicKey)) {
		t.Errorf("JWK kid %q, want the thumbprint", jwk.Kid)
	}
	msg := []byte("proof of possession")
	sig, err := w2.Signer().Sign(nil, msg, crypto.Hash(0))
	if err != nil || !ed25519.Verify(w.Public().(ed25519.PublicKey), msg, sig) {
		t.Fatalf("Signer does not sign with the device key (err %v)", err)
	}
	if list, err := w2.List(); err != nil || len(list) != 0 {
		t.Fatalf("new wallet lists %v, %v", list, err)
	}

	// A second Init must not replace the key.
	if _, err := Init(dir); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Init: %v, want fs.ErrExist", err)
	}
	w3, err := Open(dir)
	if err != nil || !keys.SameKey(w3.Public(), w.Public()) {
		t.Fatalf("key changed after a refused Init (%v)", err)
	}
}

// TestInitP256 makes a wallet with an ECDSA P-256 device key, the key
// phones keep in secure hardware, and opens it again.
func TestInitP256(t *testing.T) {
	t.Parallel()
	skipOnWindows(t)
	dir := filepath.Join(t.TempDir(), "wallet")
	w, err := InitAlg(dir, keys.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	if w.Alg() != "ES256" || w.JWK().Kty != "EC" || w.JWK().Crv != "P-256" || w.JWK().Y == "" {
		t.Fatalf("alg %q JWK %+v", w.Alg(), w.JWK())
	}
	if got := mode(t, filepath.Join(dir, "device.key")); got != 0o600 {
		t.Errorf("device.key mode %#o", got)
	}
	w2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !keys.SameKey(w2.Public(), w.Public()) || w2.JWK() != w.JWK() {
		t.Fatal("Open loaded another key")
	}
	if _, err := InitAlg(filepath.Join(t.TempDir(), "w"), "RS256"); err == nil {
		t.Error("InitAlg(RS256) made a wallet")
	}
}

// The wallet loads a PKCS#8 key written by OpenSSL and publishes the
// RFC 8037 Appendix A public key and thumbprint for it.
func TestOpenRFC8037Key(t *testing.T) {
	t.Parallel()
	var vec struct {
		PublicJWK  keys.JWK `json:"public_jwk"`
		Thumbprint string   `json:"thumbprint_sha256_b64url"`
	}
	raw, err := os.ReadFile("testdata/rfc8037.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &vec); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile("testdata/device_rfc8037.pem")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "wallet")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "device.key"), pem, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "credentials"), 0o700); err != nil {
		t.Fatal(err)
	}
	w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := w.JWK()
	if got.X != vec.PublicJWK.X || got.Kid != vec.Thumbprint {
		t.Fatalf("JWK x=%q kid=%q, want x=%q kid=%q", got.X, got.Kid, vec.PublicJWK.X, vec.Thumbprint)
	}
}

func TestOpenRefused(t *testing.T) {
	t.Parallel()
	skipOnWindows(t)
	tests := []struct {
		name    string
		damage  func(dir string) error
		check   func(t *testing.T, dir string, err error)
		wantErr error
	}{
		{
			name:   "key readable by others",
			damage: func(dir string) error { return os.Chmod(filepath.Join(dir, "device.key"), 0o644) },
			check: func(t *testing.T, dir string, err error) {
				var ke *keys.InsecurePermissionsError
				if !errors.As(err, &ke) || ke.Mode != 0o644 {
					t.Fatalf("want *keys.InsecurePermissionsError with mode 0644, got %v", err)
				}
				if !strings.Contains(err.Error(), "chmod 600") {
					t.Errorf("error does not give the fix: %v", err)
				}
			},
			wantErr: keys.ErrInsecurePermissions,
		},
		{
			name:   "wallet dir open to others",
			damage: func(dir string) error { return os.Chmod(dir, 0o755) },
			check: func(t *testing.T, dir string, err error) {
				var de *InsecureDirError
				if !errors.As(err, &de) || de.Path != dir || de.Mode != 0o755 {
					t.Fatalf("want *InsecureDirError for %q mode 0755, got %v", dir, err)
				}
				if !strings.Contains(err.Error(), "chmod 700 "+`"`+dir+`"`) || !strings.Contains(err.Error(), "0755") {
					t.Errorf("error does not name the path, mode and fix: %v", err)
				}
			},
			wantErr: keys.ErrInsecurePermissions,
		},
		{
			name:   "credentials dir open to group",
			damage: func(dir string) error { return os.Chmod(filepath.Join(dir, "credentials"), 0o750) },
			check: func(t *testing.T, dir string, err error) {
				var de *InsecureDirError
				if !errors.As(err, &de) || de.Path != filepath.Join(dir, "credentials") {
					t.Fatalf("want *InsecureDirError for the credentials dir, got %v", err)
				}
			},
			wantErr: keys.ErrInsecurePermissions,
		},
		{
			name:    "no device key",
			damage:  func(dir string) error { return os.Remove(filepath.Join(dir, "device.key")) },
			wantErr: fs.ErrNotExist,
		},
		{
			name:    "no credentials dir",
			damage:  func(dir string) error { return os.Remove(filepath.Join(dir, "credentials")) },
			wantErr: fs.ErrNotExist,
		},
		{
			name: "corrupt key",
			damage: func(dir string) error {
				return os.WriteFile(filepath.Join(dir, "device.key"), []byte("not a key"), 0o600)
			},
			wantErr: keys.ErrInvalidPrivateKey,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newTestWallet(t)
			if _, err := Open(w.Dir()); err != nil {
				t.Fatalf("healthy wallet refused: %v", err)
			}
			if err := tt.damage(w.Dir()); err != nil {
				t.Fatal(err)
			}
			_, err := Open(w.Dir())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Open: %v, want %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, w.Dir(), err)
			}
		})
	}
}

func TestInitRefusesOpenDir(t *testing.T) {
	t.Parallel()
	skipOnWindows(t)
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var de *InsecureDirError
	if _, err := Init(dir); !errors.As(err, &de) {
		t.Fatalf("Init in a 0755 dir: %v, want *InsecureDirError", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "device.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a device key was written into a directory open to others")
	}
	// An existing private, empty directory is fine.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir); err != nil {
		t.Fatalf("Init in an empty 0700 dir: %v", err)
	}
}
