package spill

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzSegment opens a queue whose only segment holds arbitrary bytes and
// replays it: no panic, no endless loop, no error from Open.
func FuzzSegment(f *testing.F) {
	dir := f.TempDir()
	q := mustOpen(f, testConfig(dir), nil)
	putAll(f, q, 0, 5, 200)
	q.Close()
	valid, err := os.ReadFile(segFiles(f, dir)[0])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-sealLen])
	f.Add(valid[:len(valid)/2])
	f.Add(valid[100:])
	f.Add(append(append([]byte{}, valid[:300]...), valid...))
	f.Add([]byte("LOSP"))
	f.Add(make([]byte, 1000))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(1)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		q, err := Open(testConfig(dir), nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer q.Close()
		for n := 0; ; n++ {
			if n > len(b) {
				t.Fatal("more records than bytes")
			}
			_, tok, ok := q.Next()
			if !ok {
				break
			}
			if err := q.Ack(tok); err != nil {
				t.Fatal(err)
			}
		}
		if st := q.Stats(); st.Records != 0 || st.InFlight != 0 {
			t.Fatalf("Stats after replay: %+v", st)
		}
	})
}
