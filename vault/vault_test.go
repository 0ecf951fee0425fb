package vault_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/epermit/epermit/vault"
)

func newVault(t *testing.T) (*vault.Vault, *vault.FileKEK, *vault.SlotFile, string) {
	t.Helper()
	dir := t.TempDir()
	kek, err := vault.LoadFileKEK(filepath.Join(dir, "kek"), true)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := vault.OpenSlotFile(filepath.Join(dir, "datakeys"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sf.Close() })
	return vault.New(kek, sf, nil), kek, sf, dir
}

func TestSealOpen(t *testing.T) {
	v, _, _, _ := newVault(t)
	k, err := v.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("张三 330106199001011234")
	ct, err := k.Seal("application:A1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, secret[:6]) || bytes.Contains(ct, []byte("330106")) {
		t.Fatal("plaintext visible in the sealed form")
	}
	if ref, ok := vault.RefOf(ct); !ok || ref != k.Ref() {
		t.Fatalf("RefOf = %d, %v", ref, ok)
	}
	k2, err := v.Key(k.Ref())
	if err != nil {
		t.Fatal(err)
	}
	pt, err := k2.Open("application:A1", ct)
	if err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	// Another record's name, a flipped bit, another key: refused.
	other, _ := v.NewKey()
	for name, try := range map[string]func() ([]byte, error){
		"other record": func() ([]byte, error) { return k2.Open("application:A2", ct) },
		"flipped bit": func() ([]byte, error) {
			c := bytes.Clone(ct)
			c[len(c)-3] ^= 1
			return k2.Open("application:A1", c)
		},
		"other key": func() ([]byte, error) { return other.Open("application:A1", ct) },
		"truncated": func() ([]byte, error) { return k2.Open("application:A1", ct[:10]) },
	} {
		if _, err := try(); !errors.Is(err, vault.ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}
}

func TestShred(t *testing.T) {
	v, _, sf, dir := newVault(t)
	k, _ := v.NewKey()
	keep, _ := v.NewKey()
	ct, _ := k.Seal("r", []byte("personal"))
	kept, _ := keep.Seal("q", []byte("other"))
	wrapped, err := sf.Get(k.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Shred(k.Ref()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Key(k.Ref()); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("Key after Shred: %v", err)
	}
	// The wrapped key's bytes are gone from the file itself.
	raw, _ := os.ReadFile(filepath.Join(dir, "datakeys"))
	if bytes.Contains(raw, wrapped[4:]) {
		t.Fatal("the destroyed key's bytes remain in the file")
	}
	if err := v.Shred(k.Ref()); err != nil {
		t.Fatalf("second Shred: %v", err)
	}
	// Other records are untouched.
	k2, err := v.Key(keep.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k2.Open("q", kept); err != nil || string(pt) != "other" {
		t.Fatal(pt, err)
	}
	_ = ct
	if _, err := v.Key(99); !errors.Is(err, vault.ErrNoKey) {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestReopenAndRotate(t *testing.T) {
	v, kek, sf, dir := newVault(t)
	var cts [][]byte
	var refs []vault.Ref
	for i := range 5 {
		k, err := v.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		ct, _ := k.Seal("r", []byte{byte(i)})
		cts, refs = append(cts, ct), append(refs, k.Ref())
	}
	if err := v.Shred(refs[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := kek.Rotate(); err != nil {
		t.Fatal(err)
	}
	n, err := v.Rewrap()
	if err != nil || n != 4 {
		t.Fatalf("Rewrap = %d, %v; want 4 live keys re-wrapped", n, err)
	}
	if n, _ := v.Rewrap(); n != 0 {
		t.Fatalf("second Rewrap re-wrapped %d", n)
	}
	sf.Close()
	// Without the old version, every key still opens: they were re-wrapped.
	if err := os.Remove(filepath.Join(dir, "kek", "1.kek")); err != nil {
		t.Fatal(err)
	}
	kek2, err := vault.LoadFileKEK(filepath.Join(dir, "kek"), false)
	if err != nil {
		t.Fatal(err)
	}
	sf2, err := vault.OpenSlotFile(filepath.Join(dir, "datakeys"))
	if err != nil {
		t.Fatal(err)
	}
	defer sf2.Close()
	v2 := vault.New(kek2, sf2, nil)
	for i, ref := range refs {
		k, err := v2.Key(ref)
		if i == 2 {
			if !errors.Is(err, vault.ErrShredded) {
				t.Errorf("shredded key after rotation: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := k.Open("r", cts[i]); err != nil || pt[0] != byte(i) {
			t.Fatalf("record %d: %v", i, err)
		}
	}
}

func TestConcurrentAdds(t *testing.T) {
	v, _, sf, _ := newVault(t)
	var wg sync.WaitGroup
	refs := make([]vault.Ref, 64)
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := v.NewKey()
			if err != nil {
				t.Error(err)
				return
			}
			refs[i] = k.Ref()
		}()
	}
	wg.Wait()
	seen := map[vault.Ref]bool{}
	for _, r := range refs {
		if seen[r] || r == 0 {
			t.Fatalf("ref %d given twice or zero", r)
		}
		seen[r] = true
	}
	if sf.Len() != 64 {
		t.Fatalf("%d slots", sf.Len())
	}
}

func TestInsecureFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "1.kek"), make([]byte, 32), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.LoadFileKEK(dir, false); !errors.Is(err, vault.ErrInsecureKEK) {
		t.Fatalf("world-readable KEK: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dk"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.OpenSlotFile(filepath.Join(dir, "dk")); err == nil {
		t.Fatal("world-readable key file opened")
	}
	if _, err := vault.LoadFileKEK(filepath.Join(dir, "none"), false); err == nil {
		t.Fatal("missing KEK not reported")
	}
}

func BenchmarkSealOpen(b *testing.B) {
	dir := b.TempDir()
	kek, _ := vault.LoadFileKEK(filepath.Join(dir, "kek"), true)
	sf, _ := vault.OpenSlotFile(filepath.Join(dir, "datakeys"))
	defer sf.Close()
	v := vault.New(kek, sf, nil)
	k, _ := v.NewKey()
	rec := bytes.Repeat([]byte("x"), 600)
	b.ResetTimer()
	for b.Loop() {
		k2, err := v.Key(k.Ref())
		if err != nil {
			b.Fatal(err)
		}
		ct, _ := k2.Seal("permit:1", rec)
		if _, err := k2.Open("permit:1", ct); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyOpen is what issuing a credential costs the vault: the
// person-record's data key read and unwrapped, and the permit's particulars
// (a record of about 700 bytes) opened.
func BenchmarkKeyOpen(b *testing.B) {
	dir := b.TempDir()
	kek, _ := vault.LoadFileKEK(filepath.Join(dir, "kek"), true)
	sf, _ := vault.OpenSlotFile(filepath.Join(dir, "datakeys"))
	defer sf.Close()
	v := vault.New(kek, sf, nil)
	var refs []vault.Ref
	var cts [][]byte
	rec := bytes.Repeat([]byte("x"), 700)
	for range 1000 {
		k, _ := v.NewKey()
		ct, _ := k.Seal("permit:1", rec)
		refs, cts = append(refs, k.Ref()), append(cts, ct)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		k, err := v.Key(refs[i%len(refs)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k.Open("permit:1", cts[i%len(cts)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
