package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustGenerate(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	a, b := mustGenerate(t), mustGenerate(t)
	if len(a) != ed25519.PrivateKeySize {
		t.Fatalf("key is %d bytes", len(a))
	}
	if a.Equal(b) {
		t.Error("two generated keys are equal")
	}
	if err := checkPrivateKey(a); err != nil {
		t.Error(err)
	}
}

func TestPrivateKeyPEMRoundTrip(t *testing.T) {
	t.Parallel()
	key := mustGenerate(t)
	data, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("PEM starts %q", data[:min(len(data), 30)])
	}
	back, err := ParsePrivateKeyPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(key) {
		t.Error("round trip changed the key")
	}
}

func TestMarshalPrivateKeyPEMRefuses(t *testing.T) {
	t.Parallel()
	key := mustGenerate(t)
	mismatched := append(ed25519.PrivateKey(nil), key...)
	mismatched[63] ^= 1 // public half no longer belongs to the seed
	for name, k := range map[string]ed25519.PrivateKey{
		"nil":        nil,
		"seed only":  key.Seed(),
		"mismatched": mismatched,
	} {
		if _, err := MarshalPrivateKeyPEM(k); !errors.Is(err, ErrInvalidPrivateKey) {
			t.Errorf("%s: error = %v, want ErrInvalidPrivateKey", name, err)
		}
	}
}

func TestParsePrivateKeyPEMRefuses(t *testing.T) {
	t.Parallel()
	good, err := MarshalPrivateKeyPEM(mustGenerate(t))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(good)

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(mustGenerate(t).Public())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no PEM block"},
		{"not PEM", []byte("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"), "no PEM block"},
		{"public key block", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), `PEM block type "PUBLIC KEY"`},
		{"legacy EC block type", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: block.Bytes}), `PEM block type "EC PRIVATE KEY"`},
		{"ECDSA PKCS#8", pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: ecDER}), "*ecdsa.PrivateKey, want ed25519.PrivateKey"},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: []byte{0x30, 0x03, 1, 2, 3}}), "invalid private key"},
		{"headers", pem.EncodeToMemory(&pem.Block{Type: pemType, Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: block.Bytes}), "headers"},
		{"two blocks", append(append([]byte{}, good...), good...), "data after the PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePrivateKeyPEM(tt.data)
			if !errors.Is(err, ErrInvalidPrivateKey) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want ErrInvalidPrivateKey containing %q", err, tt.want)
			}
		})
	}

	// Surrounding whitespace is not "data after the block".
	if _, err := ParsePrivateKeyPEM(append(append([]byte("\n"), good...), "\n\n"...)); err != nil {
		t.Errorf("PEM with surrounding newlines: %v", err)
	}
}

func TestWritePrivateKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "issuer.key")
	key := mustGenerate(t)
	if err := WritePrivateKeyFile(path, key); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %04o, want 0600", perm)
	}
	back, err := LoadPrivateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(key) {
		t.Error("loaded key differs from written key")
	}

	// A second write must fail and leave the first key in place.
	err = WritePrivateKeyFile(path, mustGenerate(t))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write error = %v, want fs.ErrExist", err)
	}
	if again, err := LoadPrivateKeyFile(path); err != nil || !again.Equal(key) {
		t.Errorf("existing key changed by refused write (err %v)", err)
	}

	// No temporary files are left behind.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only issuer.key", names)
	}
}

func TestWritePrivateKeyFileRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := WritePrivateKeyFile(filepath.Join(dir, "missing", "k.key"), mustGenerate(t)); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if err := WritePrivateKeyFile(filepath.Join(dir, "short.key"), make(ed25519.PrivateKey, 10)); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("write of a short key: error = %v, want ErrInvalidPrivateKey", err)
	}
	if err := WritePrivateKeyFile(dir, mustGenerate(t)); !errors.Is(err, fs.ErrExist) {
		t.Errorf("write over a directory: error = %v, want fs.ErrExist", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused writes left %d files", len(entries))
	}
}

func TestLoadPrivateKeyFilePermissions(t *testing.T) {
	t.Parallel()
	pemData, err := MarshalPrivateKeyPEM(mustGenerate(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode    fs.FileMode
		wantErr bool
		wantMsg string // the message after the path
	}{
		{0o600, false, ""},
		{0o400, false, ""},
		{0o700, false, ""},
		{0o644, true, "is readable by group and others (mode 0644)"},
		{0o640, true, "is readable by group (mode 0640)"},
		{0o604, true, "is readable by others (mode 0604)"},
		{0o620, true, "is writable by group (mode 0620)"},
		{0o601, true, "is accessible by others (mode 0601)"},
		{0o666, true, "is readable by group and others (mode 0666)"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04o", tt.mode), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "k.key")
			if err := os.WriteFile(path, pemData, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadPrivateKeyFile(path)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("mode %04o refused: %v", tt.mode, err)
				}
				return
			}
			if !errors.Is(err, ErrInsecurePermissions) {
				t.Fatalf("mode %04o: error = %v, want ErrInsecurePermissions", tt.mode, err)
			}
			var perr *InsecurePermissionsError
			if !errors.As(err, &perr) || perr.Path != path || perr.Mode != tt.mode {
				t.Fatalf("errors.As = %+v", perr)
			}
			want := fmt.Sprintf("keys: private key file %q %s; run: chmod 600 %q", path, tt.wantMsg, path)
			if err.Error() != want {
				t.Errorf("message\n%s\nwant\n%s", err, want)
			}
		})
	}
}

func TestInsecurePermissionsErrorQuoting(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, want string }{
		{"keys/issuer.key", `chmod 600 "keys/issuer.key"`},
		{"my keys/it's.key", `chmod 600 'my keys/it'\''s.key'`},
		{"$HOME.key", `chmod 600 '$HOME.key'`},
	}
	for _, tt := range tests {
		msg := (&InsecurePermissionsError{Path: tt.path, Mode: 0o644}).Error()
		if !strings.HasSuffix(msg, tt.want) {
			t.Errorf("%q: message %q, want suffix %q", tt.path, msg, tt.want)
		}
	}
}

func TestLoadPrivateKeyFileRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{"missing", filepath.Join(dir, "nope.key"), fs.ErrNotExist},
		{"directory", dir, ErrInvalidPrivateKey},
		{"not PEM", write("text.key", []byte("hello")), ErrInvalidPrivateKey},
		{"too large", write("big.key", bytes.Repeat([]byte("A"), maxKeyFileSize+1)), ErrInvalidPrivateKey},
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		_, err := LoadPrivateKeyFile(tt.path)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if tt.wantErr == ErrInvalidPrivateKey && !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.path)) {
			t.Errorf("%s: error %q does not name the file", tt.name, err)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state", "keys")
	key, created, err := LoadOrCreate(dir, "issuer")
	if err != nil || !created {
		t.Fatalf("first call: created %v, err %v", created, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("created directory mode %04o, want 0700", perm)
	}
	again, created, err := LoadOrCreate(dir, "issuer")
	if err != nil || created {
		t.Fatalf("second call: created %v, err %v", created, err)
	}
	if !again.Equal(key) {
		t.Error("second call returned a different key")
	}
	if _, err := os.Stat(filepath.Join(dir, "issuer.key")); err != nil {
		t.Errorf("key file: %v", err)
	}

	// An insecure existing file is reported, not replaced.
	if err := os.Chmod(filepath.Join(dir, "issuer.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir, "issuer"); !errors.Is(err, ErrInsecurePermissions) {
		t.Errorf("insecure file: error = %v, want ErrInsecurePermissions", err)
	}
}

func TestLoadOrCreateRefusesNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..", "a/b", "../x", "/abs"} {
		if _, _, err := LoadOrCreate(dir, name); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused names created %d files", len(entries))
	}
}

// TestWritePrivateKeyFileConcurrent races writers to one path: exactly one
// wins, the others get fs.ErrExist, and the file holds the winner's key.
func TestWritePrivateKeyFileConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "issuer.key")
	const writers = 8
	keys := make([]ed25519.PrivateKey, writers)
	errs := make([]error, writers)
	for i := range keys {
		keys[i] = mustGenerate(t)
	}
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { errs[i] = WritePrivateKeyFile(path, keys[i]) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner == -1:
			winner = i
		case err == nil:
			t.Fatalf("writers %d and %d both succeeded", winner, i)
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if winner == -1 {
		t.Fatal("no writer succeeded")
	}
	got, err := LoadPrivateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(keys[winner]) {
		t.Error("file does not hold the successful writer's key")
	}
}
