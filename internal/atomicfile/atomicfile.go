// Package atomicfile writes files so that a crash leaves either the old or
// the new content, never a mix: a synced temporary file in the same
// directory is renamed over the target, and the directory is synced.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with data, created with the given mode.
func Write(path string, data []byte, mode fs.FileMode) error {
	return WriteFrom(path, mode, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// WriteFrom replaces path with what write puts into the temporary file it
// is given (which it may also read back, to check it). If write fails,
// path is left as it was.
func WriteFrom(path string, mode fs.FileMode, write func(f *os.File) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes a rename or link in dir durable. On Windows, where a
// directory cannot be synced, it does nothing.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
