//go:build linux

package spill

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary runs as a child process when SPILL_TEST_CHILD is set.
func TestMain(m *testing.M) {
	switch os.Getenv("SPILL_TEST_CHILD") {
	case "":
		os.Exit(m.Run())
	case "writer":
		childWriter()
	case "fsize":
		childFileSizeLimit()
	}
	os.Exit(0)
}

// childWriter puts records (and, with SPILL_CHILD_ACK, replays some) until
// it is killed, printing "put i" after each Put and "ack i" after each Ack
// returned.
func childWriter() {
	dir := os.Getenv("SPILL_CHILD_DIR")
	start, _ := strconv.Atoi(os.Getenv("SPILL_CHILD_START"))
	acks := os.Getenv("SPILL_CHILD_ACK") != ""
	q, err := Open(Config{Dir: dir, MaxBytes: 1 << 30, SegmentBytes: 1 << 20}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	deadline := time.Now().Add(30 * time.Second) // in case nobody kills us
	size := func(i int) int { return 1000 + (i%5)*400_000 }
	next := rec(start, size(start))
	for i := start; time.Now().Before(deadline); i++ {
		if err := q.Put(next); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// Build the next record first, so that the kill that follows the
		// line lands in Put more often than not.
		next = rec(i+1, size(i+1))
		fmt.Fprintf(os.Stdout, "put %d\n", i)
		if acks && i%5 == 4 {
			for range 3 {
				r, tok, ok := q.Next()
				if !ok {
					break
				}
				j := int(binary.LittleEndian.Uint64(r.Data))
				if err := q.Ack(tok); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				fmt.Fprintf(os.Stdout, "ack %d\n", j)
			}
		}
	}
	os.Exit(3)
}

// runAndKill starts a writer child and SIGKILLs it once it reported
// killAt Puts. It returns the highest put and ack it reported (-1: none).
func runAndKill(t *testing.T, dir string, start, killAt int, acks bool) (maxPut, maxAck int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SPILL_TEST_CHILD=writer", "SPILL_CHILD_DIR="+dir, "SPILL_CHILD_START="+strconv.Itoa(start))
	if acks {
		cmd.Env = append(cmd.Env, "SPILL_CHILD_ACK=1")
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	maxPut, maxAck = -1, -1
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		kind, n, _ := strings.Cut(sc.Text(), " ")
		i, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		switch kind {
		case "put":
			maxPut = max(maxPut, i)
		case "ack":
			maxAck = max(maxAck, i)
		}
		if !killed && maxPut >= start+killAt {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v; stderr:\n%s", err, stderr.String())
	}
	return maxPut, maxAck
}

// tornBytes returns the size of the torn write at the end of the newest
// segment in dir.
func tornBytes(t *testing.T, dir string) int64 {
	files := segFiles(t, dir)
	if len(files) == 0 {
		return 0
	}
	f, err := os.Open(files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if fi.Size() >= sealLen {
		var b [sealLen]byte
		f.ReadAt(b[:], fi.Size()-sealLen)
		if _, _, ok := parseSeal(b[:]); ok {
			return 0
		}
	}
	end, _, _, err := scan(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size() - end
}

// TestCrashRecovery SIGKILLs processes that write to the queue at full
// speed and checks that the next Open recovers every record whose Put
// returned, and replays none that was acknowledged.
func TestCrashRecovery(t *testing.T) {
	for _, killAt := range []int{3, 40, 111} {
		t.Run(fmt.Sprintf("kill after %d", killAt), func(t *testing.T) {
			dir := t.TempDir()
			put1, ack1 := runAndKill(t, dir, 0, killAt, true)
			torn := tornBytes(t, dir)
			// A second process, killed too, appends to the same queue.
			const start2 = 1 << 20
			put2, _ := runAndKill(t, dir, start2, killAt/2, false)
			torn += tornBytes(t, dir)

			q := mustOpen(t, Config{Dir: dir, MaxBytes: 1 << 30}, nil)
			defer q.Close()
			st := q.Stats()
			if st.TornTails > 2 || st.Corrupt != 0 {
				t.Fatalf("Stats: %+v", st)
			}
			got := drain(t, q)
			// First the first process's records not acknowledged: the one
			// in flight (or acknowledged but not reported) may come back.
			first := ack1 + 1
			if len(got) == 0 || got[0] != first && got[0] != first+1 {
				t.Fatalf("replay starts at %v, want %d or %d", got[:min(len(got), 1)], first, first+1)
			}
			i := 0
			for want := got[0]; i < len(got) && got[i] < start2; i, want = i+1, want+1 {
				if got[i] != want {
					t.Fatalf("replayed %d where %d was expected", got[i], want)
				}
			}
			if last := got[i-1]; last != put1 && last != put1+1 {
				t.Fatalf("the first process's records end at %d; it reported %d", last, put1)
			}
			for want := start2; i < len(got); i, want = i+1, want+1 {
				if got[i] != want {
					t.Fatalf("replayed %d where %d was expected", got[i], want)
				}
			}
			if last := got[len(got)-1]; last != put2 && last != put2+1 {
				t.Fatalf("the second process's records end at %d; it reported %d", last, put2)
			}
			t.Logf("recovered %d records; the kills left %d bytes of torn writes", len(got), torn)
		})
	}
}

// childFileSizeLimit writes until the file size limit (as a full disk
// would) stops it, then reads back what was accepted.
func childFileSizeLimit() {
	signal.Ignore(syscall.SIGXFSZ)
	lim := syscall.Rlimit{Cur: 64 << 10, Max: 64 << 10}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(2)
	}
	cfg := Config{Dir: os.Getenv("SPILL_CHILD_DIR"), MaxBytes: 64 << 20, SegmentBytes: 1 << 20, LockWait: -1}
	q, err := Open(cfg, nil)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	accepted := 0
	var putErr error
	for i := range 100 {
		if putErr = q.Put(rec(i, 10_000)); putErr != nil {
			break
		}
		accepted++
	}
	if putErr == nil || !errors.Is(putErr, syscall.EFBIG) {
		fmt.Println("Put did not fail as expected:", putErr)
		os.Exit(2)
	}
	check := func(q *Queue) {
		var got []int
		for {
			r, tok, ok := q.Next()
			if !ok {
				break
			}
			got = append(got, int(binary.LittleEndian.Uint64(r.Data)))
			_ = tok // left in flight, then rewound
			if len(got) > 100 {
				break
			}
		}
		q.Rewind()
		if !equalInts(got, seq(0, accepted)) {
			fmt.Println("replayed", got, "after", accepted, "accepted Puts")
			os.Exit(2)
		}
	}
	check(q)
	q.Close() // the seal does not fit either
	q, err = Open(cfg, nil)
	if err != nil {
		fmt.Println("reopen:", err)
		os.Exit(2)
	}
	check(q)
	fmt.Printf("ok %d; %v\n", accepted, putErr)
}

// TestWriteFails runs out of room for writes (a file size limit stands in
// for a full /tmp): Put returns the write error, nothing panics, and what
// was accepted is intact.
func TestWriteFails(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SPILL_TEST_CHILD=fsize", "SPILL_CHILD_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok ") || !strings.Contains(string(out), "file too large") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child: %s", strings.TrimSpace(string(out)))
}
