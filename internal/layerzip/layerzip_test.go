package layerzip

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// layer is a layer's files as `lambdaotel layer build --config` gives them.
func layer() []File {
	return []File{
		{Path: ConfigPath, Mode: FileMode, Data: []byte("receivers: {}\n")},
		{Path: ExtensionPath, Mode: ExecutableMode, Data: bytes.Repeat([]byte("\x7fELF extension "), 4096)},
	}
}

func writeZip(t *testing.T, files []File, modTime time.Time) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, files, modTime); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteReproducible: the same files, in whatever order, and the same
// timestamp give the same bytes; another timestamp or another content does
// not.
func TestWriteReproducible(t *testing.T) {
	a := writeZip(t, layer(), Epoch)
	reversed := layer()
	slices.Reverse(reversed)
	if b := writeZip(t, reversed, Epoch); !bytes.Equal(a, b) {
		t.Errorf("the same files in another order give other bytes")
	}
	if b := writeZip(t, layer(), Epoch.In(time.FixedZone("CEST", 2*3600))); !bytes.Equal(a, b) {
		t.Errorf("the same instant in another time zone gives other bytes")
	}
	if b := writeZip(t, layer(), Epoch.Add(24*time.Hour)); bytes.Equal(a, b) {
		t.Errorf("another timestamp gives the same bytes")
	}
	other := layer()
	other[0].Data = []byte("receivers: {otlp: {}}\n")
	if b := writeZip(t, other, Epoch); bytes.Equal(a, b) {
		t.Errorf("another config gives the same bytes")
	}
}

// TestWriteLayout reads a zip back: extensions/ at the root of the zip (as
// Lambda unpacks a layer into /opt), each directory before its files, Unix
// modes, one timestamp, the content intact.
func TestWriteLayout(t *testing.T) {
	modTime := time.Date(2024, 5, 17, 12, 30, 44, 0, time.UTC)
	data := writeZip(t, layer(), modTime)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		mode fs.FileMode
	}{
		{"extensions/", fs.ModeDir | 0o755},
		{"extensions/lambdaotel", 0o755},
		{"lambdaotel/", fs.ModeDir | 0o755},
		{"lambdaotel/config.yaml", 0o644},
	}
	if len(zr.File) != len(want) {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("entries %q, want %d", names, len(want))
	}
	files := map[string][]byte{}
	for _, f := range layer() {
		files[f.Path] = f.Data
	}
	for i, w := range want {
		f := zr.File[i]
		if f.Name != w.name || f.Mode() != w.mode {
			t.Errorf("entry %d: %s %v, want %s %v", i, f.Name, f.Mode(), w.name, w.mode)
		}
		if f.CreatorVersion>>8 != 3 {
			t.Errorf("%s: creator %d, want 3 (Unix), or unzip ignores the modes", f.Name, f.CreatorVersion>>8)
		}
		if !f.Modified.Equal(modTime) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, modTime)
		}
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		if f.Method != zip.Deflate {
			t.Errorf("%s: method %d, want deflate", f.Name, f.Method)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, files[f.Name]) {
			t.Errorf("%s: content differs (%v)", f.Name, err)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	exe := File{Path: ExtensionPath, Mode: ExecutableMode, Data: []byte("x")}
	for _, tt := range []struct {
		name    string
		files   []File
		modTime time.Time
		want    string
	}{
		{"no files", nil, Epoch, "no files"},
		{"absolute", []File{{Path: "/opt/extensions/x", Mode: 0o755}}, Epoch, "clean relative path"},
		{"dot dot", []File{{Path: "../extensions/x", Mode: 0o755}}, Epoch, "clean relative path"},
		{"unclean", []File{{Path: "extensions//x", Mode: 0o755}}, Epoch, "clean relative path"},
		{"trailing slash", []File{{Path: "extensions/", Mode: 0o755}}, Epoch, "clean relative path"},
		{"twice", []File{exe, exe}, Epoch, "given twice"},
		{"file and directory", []File{exe, {Path: "extensions", Mode: 0o644}}, Epoch, "both a file and a directory"},
		{"not regular", []File{{Path: "x", Mode: fs.ModeSymlink | 0o777}}, Epoch, "only permission bits"},
		{"before 1980", []File{exe}, time.Unix(0, 0), "outside what a zip can hold"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(io.Discard, tt.files, tt.modTime)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestModTime(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"", Epoch, ""},
		{"1700000000", time.Unix(1700000000, 0).UTC(), ""},
		{" 1700000000\n", time.Unix(1700000000, 0).UTC(), ""},
		{"0", Epoch, ""}, // before 1980: the earliest a zip holds
		{"-1", time.Time{}, "whole number of seconds"},
		{"yesterday", time.Time{}, "whole number of seconds"},
		{"99999999999", time.Time{}, "after 2107-12-31"},
	} {
		got, err := ModTime(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ModTime(%q): error %v, want one with %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ModTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestZipName: the names the deployment examples and the Makefile use.
func TestZipName(t *testing.T) {
	for arch, want := range map[string]string{"x86_64": "lambdaotel-extension-x86_64.zip", "arm64": "lambdaotel-extension-arm64.zip"} {
		if got := ZipName(arch); got != want {
			t.Errorf("ZipName(%q) = %q, want %q", arch, got, want)
		}
		if Architectures[arch] == "" {
			t.Errorf("no GOARCH for %s", arch)
		}
	}
}

// TestExtract unpacks a layer with the modes it holds, as unzip does
// (compared with unzip itself where it is installed).
func TestExtract(t *testing.T) {
	zipPath := filepath.Join(t.TempDir(), ZipName("x86_64"))
	if err := WriteFile(zipPath, layer(), Epoch); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(zipPath); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("zip file: %v %v, want mode 0644", fi.Mode(), err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(zipPath), ".*")); len(m) != 0 {
		t.Errorf("temporary files left: %q", m)
	}
	dir := t.TempDir()
	if err := Extract(zipPath, dir); err != nil {
		t.Fatal(err)
	}
	got := tree(t, dir)
	want := map[string]fs.FileMode{
		"extensions":             fs.ModeDir | 0o755,
		"extensions/lambdaotel":  0o755,
		"lambdaotel":             fs.ModeDir | 0o755,
		"lambdaotel/config.yaml": 0o644,
	}
	if !maps.Equal(got, want) {
		t.Errorf("unpacked %v, want %v", got, want)
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ExtensionPath)))
	if err != nil || !bytes.Equal(data, layer()[1].Data) {
		t.Errorf("unpacked extension differs (%v)", err)
	}

	unzip, err := exec.LookPath("unzip")
	if err != nil {
		t.Log("unzip is not installed: not compared with it")
		return
	}
	udir := t.TempDir()
	if out, err := exec.Command(unzip, "-q", zipPath, "-d", udir).CombinedOutput(); err != nil {
		t.Fatalf("unzip: %v\n%s", err, out)
	}
	if u := tree(t, udir); !maps.Equal(u, got) {
		t.Errorf("unzip made %v, Extract %v", u, got)
	}
}

// TestExtractRefuses entries that leave the directory and symbolic links.
func TestExtractRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		mode fs.FileMode
		want string
	}{
		{"../evil", 0o644, "leaves the layer's directory"},
		{"/etc/evil", 0o644, "leaves the layer's directory"},
		{"extensions/link", fs.ModeSymlink | 0o777, "only directories and regular files"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			zipPath := filepath.Join(t.TempDir(), "bad.zip")
			f, err := os.Create(zipPath)
			if err != nil {
				t.Fatal(err)
			}
			zw := zip.NewWriter(f)
			h := &zip.FileHeader{Name: tt.name}
			h.SetMode(tt.mode)
			w, _ := zw.CreateHeader(h)
			w.Write([]byte("/etc/passwd"))
			zw.Close()
			f.Close()
			root := t.TempDir()
			dir := filepath.Join(root, "opt")
			err = Extract(zipPath, dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(root, "evil")); err == nil {
				t.Errorf("a file was written outside the directory")
			}
		})
	}
}

// tree lists the files under dir with their modes.
func tree(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	got := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = fi.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}
