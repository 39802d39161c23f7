// Package layerzip writes the lambdaotel extension's layer zips, byte for
// byte the same for the same files, and unpacks them the way Lambda lays a
// layer out under /opt (or a container image's COPY of the unpacked layer
// does).
//
// A layer zip holds extensions/lambdaotel (the extension, mode 0755) and,
// optionally, lambdaotel/config.yaml (mode 0644), which the extension reads
// as /opt/lambdaotel/config.yaml when no variable names another file. Every
// entry has the same timestamp (1980-01-01 00:00:00 UTC, the earliest a zip
// can hold, or SOURCE_DATE_EPOCH), explicit Unix modes, and the entries come
// in path order, each directory before what it holds, so that the same
// files give the same zip.
package layerzip

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The layer's layout, relative to the root of the zip (Lambda's /opt).
const (
	// ExtensionPath is the extension executable. Lambda starts every file
	// in /opt/extensions as an external extension, named after the file.
	ExtensionPath = "extensions/lambdaotel"
	// ConfigPath is the optional configuration file; the extension reads
	// /opt/lambdaotel/config.yaml when no variable names another file.
	ConfigPath = "lambdaotel/config.yaml"
)

// Modes of the layer's entries.
const (
	ExecutableMode fs.FileMode = 0o755
	FileMode       fs.FileMode = 0o644
	DirMode        fs.FileMode = 0o755
)

// Architectures maps Lambda's architecture names to Go's GOARCH.
var Architectures = map[string]string{"x86_64": "amd64", "arm64": "arm64"}

// ZipName is the file name of the layer zip for a Lambda architecture
// (x86_64 or arm64), as `lambdaotel layer build` writes it.
func ZipName(arch string) string { return "lambdaotel-extension-" + arch + ".zip" }

// Epoch is the default timestamp of every entry: 1980-01-01 00:00:00 UTC,
// the earliest time a zip (MS-DOS) timestamp can hold.
var Epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// latest is the last time an MS-DOS timestamp can hold.
var latest = time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)

// ModTime returns the timestamp for the entries of a zip: Epoch when
// sourceDateEpoch (the value of SOURCE_DATE_EPOCH, seconds since
// 1970-01-01 UTC) is empty, else that time, raised to Epoch if earlier.
func ModTime(sourceDateEpoch string) (time.Time, error) {
	s := strings.TrimSpace(sourceDateEpoch)
	if s == "" {
		return Epoch, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a whole number of seconds since 1970-01-01 UTC", sourceDateEpoch)
	}
	t := time.Unix(n, 0).UTC()
	switch {
	case t.Before(Epoch):
		return Epoch, nil
	case t.After(latest):
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is after %s, the last time a zip can hold", sourceDateEpoch, latest.Format(time.DateOnly))
	}
	return t, nil
}

// File is one regular file of a layer.
type File struct {
	// Path is slash-separated and relative to the layer's root (/opt),
	// e.g. ExtensionPath.
	Path string
	// Mode holds the permission bits, e.g. ExecutableMode.
	Mode fs.FileMode
	Data []byte
}

// Write writes files as a zip to w. Entries are in path order, each parent
// directory (mode 0755) before what it holds; every entry has modTime
// (in UTC) and its Unix mode; files are deflated at the best compression.
// The same files and modTime give the same bytes (with the same Go
// version, whose deflate output is what it is).
func Write(w io.Writer, files []File, modTime time.Time) error {
	if len(files) == 0 {
		return errors.New("layerzip: no files to write")
	}
	modTime = modTime.UTC()
	if modTime.Before(Epoch) || modTime.After(latest) {
		return fmt.Errorf("layerzip: timestamp %s is outside what a zip can hold (1980 to 2107)", modTime.Format(time.RFC3339))
	}
	entries := map[string]*File{}
	dirs := map[string]bool{}
	for i := range files {
		f := &files[i]
		if err := checkPath(f.Path); err != nil {
			return err
		}
		if f.Mode&^fs.ModePerm != 0 {
			return fmt.Errorf("layerzip: %s: mode %v: only permission bits are allowed (regular files)", f.Path, f.Mode)
		}
		if entries[f.Path] != nil {
			return fmt.Errorf("layerzip: %s is given twice", f.Path)
		}
		entries[f.Path] = f
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		if entries[d] != nil {
			return fmt.Errorf("layerzip: %s is both a file and a directory", d)
		}
	}
	// Directories are named with a trailing slash, so that sorting puts
	// each directory ("a/") right before what it holds ("a/b").
	names := make([]string, 0, len(entries)+len(dirs))
	for p := range entries {
		names = append(names, p)
	}
	for d := range dirs {
		names = append(names, d+"/")
	}
	sort.Strings(names)

	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, name := range names {
		h := &zip.FileHeader{Name: name, Modified: modTime}
		if strings.HasSuffix(name, "/") {
			h.Method = zip.Store
			h.SetMode(fs.ModeDir | DirMode)
			if _, err := zw.CreateHeader(h); err != nil {
				return fmt.Errorf("layerzip: %s: %w", name, err)
			}
			continue
		}
		f := entries[name]
		h.Method = zip.Deflate
		h.SetMode(f.Mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("layerzip: %s: %w", name, err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			return fmt.Errorf("layerzip: %s: %w", name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("layerzip: %w", err)
	}
	return nil
}

// WriteFile writes files as a zip (see Write) to the file name: to a
// temporary file in the same directory first, renamed into place when
// complete, so that a failed build leaves no half-written zip behind.
func WriteFile(name string, files []File, modTime time.Time) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("layerzip: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing to remove
	if err := Write(tmp, files, modTime); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("layerzip: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("layerzip: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("layerzip: %w", err)
	}
	return nil
}

// checkPath accepts a clean, relative, slash-separated path.
func checkPath(p string) error {
	if p == "" || p != path.Clean(p) || path.IsAbs(p) || p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, `\`) {
		return fmt.Errorf("layerzip: path %q: want a clean relative path such as %q", p, ExtensionPath)
	}
	return nil
}

// Extract unpacks the zip file zipPath into dir as `unzip -d dir` does, and
// as Lambda lays a layer out under /opt: directories and regular files
// with the permission bits the archive holds (0755 for a directory that
// has none, 0644 for a file). It refuses entries whose path leaves dir,
// symbolic links and other special files.
func Extract(zipPath, dir string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("layerzip: %w", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if err := extractOne(f, dir); err != nil {
			return fmt.Errorf("layerzip: %s: %s: %w", zipPath, f.Name, err)
		}
	}
	return nil
}

func extractOne(f *zip.File, dir string) error {
	name := strings.TrimSuffix(f.Name, "/")
	if err := checkPath(name); err != nil {
		return errors.New("path leaves the layer's directory or is not clean")
	}
	target := filepath.Join(dir, filepath.FromSlash(name))
	mode := f.Mode()
	switch {
	case mode.IsDir():
		perm := mode.Perm()
		if perm == 0 {
			perm = DirMode
		}
		if err := os.MkdirAll(target, perm); err != nil {
			return err
		}
		return os.Chmod(target, perm) // MkdirAll is subject to the umask
	case !mode.IsRegular():
		return fmt.Errorf("mode %v: only directories and regular files are allowed", mode)
	}
	perm := mode.Perm()
	if perm == 0 {
		perm = FileMode
	}
	if err := os.MkdirAll(filepath.Dir(target), DirMode); err != nil {
		return err
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(perm); err != nil { // OpenFile is subject to the umask
		out.Close()
		return err
	}
	return out.Close()
}
