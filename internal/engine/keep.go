package engine

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/lambdaotel/lambdaotel/internal/pipeline/config"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/spill"
)

// queue keeps data that could not be sent within a flush's budget until a
// later flush: the spill queue on disk.
type queue interface {
	// put appends a part meant for the named exporter.
	put(exporter string, p part) error
	// next returns the oldest part not handed out yet; ack removes it once
	// it was sent.
	next() (exporter string, p part, ack func(), ok bool)
	// rewind hands out again, from the oldest, what next handed out and
	// was not acknowledged.
	rewind()
	// items counts the items waiting.
	items() int64
	// lost counts the items the queue dropped (full, or damaged on disk).
	lost() int64
	close() error
}

// spillQueue is the queue on disk.
type spillQueue struct {
	q   *spill.Queue
	log *slog.Logger
}

func (s spillQueue) put(exporter string, p part) error {
	data, err := p.marshal()
	if err != nil {
		return err
	}
	return s.q.Put(spill.Record{Signal: p.signal, Exporter: exporter, Data: data, Items: p.items(), Enqueued: time.Now()})
}

func (s spillQueue) next() (string, part, func(), bool) {
	for {
		rec, tok, ok := s.q.Next()
		if !ok {
			return "", part{}, nil, false
		}
		p, err := unmarshalPart(rec.Signal, rec.Data)
		if err != nil {
			s.log.Warn("a spilled record cannot be decoded: skipped", "exporter", rec.Exporter, "items", rec.Items, "error", err)
			_ = s.q.Ack(tok)
			continue
		}
		return rec.Exporter, p, func() {
			if err := s.q.Ack(tok); err != nil {
				s.log.Warn("spill queue", "error", err)
			}
		}, true
	}
}

func (s spillQueue) rewind()      { s.q.Rewind() }
func (s spillQueue) items() int64 { return s.q.Stats().Items }
func (s spillQueue) lost() int64 {
	st := s.q.Stats()
	return st.DroppedItems + st.LostItems
}
func (s spillQueue) close() error { return s.q.Close() }

// OpenQueue opens the spill queue as the settings say; without one (off,
// or /tmp unusable) the engine still works and drops what it cannot
// send, and says so.
func (x *Engine) OpenQueue(st config.SpillSettings) {
	if !st.Enabled {
		return
	}
	dir := st.Dir
	if dir == "" {
		// /tmp in Lambda, where TMPDIR is not set.
		dir = filepath.Join(os.TempDir(), "lambdaotel-spill")
	}
	q, err := spill.Open(spill.Config{Dir: dir, MaxBytes: st.MaxBytes}, x.log)
	if err != nil {
		x.log.Warn("spill queue unavailable: data that cannot be sent within the flush budget will be dropped", "error", err)
		return
	}
	x.queue = spillQueue{q: q, log: x.log}
	if n := q.Stats().Items; n > 0 {
		x.log.Info("spill queue holds data from before; it is sent at the next flushes", "items", n)
	}
}

// keep puts parts an exporter could not send into the queue, or counts
// them as dropped when there is no queue or it refuses them.
func (x *Engine) keep(e interface{ Name() string }, rest []part, cause error) {
	var n int64
	for _, p := range rest {
		n += p.items()
	}
	if x.queue == nil {
		x.stats.dropped.Add(n)
		x.log.Warn("export failed: data dropped (the spill queue is off)", "exporter", e.Name(), "items", n, "error", cause)
		return
	}
	for _, p := range rest {
		if err := x.queue.put(e.Name(), p); err != nil {
			x.stats.dropped.Add(p.items())
			x.log.Warn("export failed and the spill queue refused the data: dropped", "exporter", e.Name(), "items", p.items(), "error", err)
			continue
		}
		x.stats.spilled.Add(p.items())
	}
	x.log.Warn("export did not finish within the flush budget: kept on disk for the next flush", "exporter", e.Name(), "items", n, "error", cause)
}

// replay sends what the queue holds, oldest first, while ctx lasts. Once
// an exporter fails, its records stay queued for a later flush and the
// other exporters' records go on.
func (x *Engine) replay(ctx context.Context) {
	if x.queue == nil {
		return
	}
	// What was handed out and not acknowledged goes back in the queue.
	defer x.queue.rewind()
	exporters := map[string]int{}
	for i, e := range x.exporters {
		exporters[e.Name()] = i
	}
	failed := map[string]bool{}
	for ctx.Err() == nil && len(failed) < len(exporters) {
		name, p, ack, ok := x.queue.next()
		if !ok {
			return
		}
		if failed[name] {
			continue
		}
		i, known := exporters[name]
		if !known {
			x.stats.dropped.Add(p.items())
			x.log.Warn("spilled data for an exporter that is no longer configured: dropped", "exporter", name, "items", p.items())
			ack()
			continue
		}
		before := x.stats.exported.Load()
		out := x.deliver(ctx, x.exporters[i], []part{p})
		if len(out.rest) > 0 {
			failed[name] = true
			continue
		}
		x.stats.replayed.Add(x.stats.exported.Load() - before)
		ack()
	}
}

// CloseQueue closes the queue when the extension stops. At a spindown the
// environment and its /tmp end: what is still queued is abandoned and
// counted. After a timeout or a failure the environment (and /tmp) stays,
// and the next extension process replays the queue.
func (x *Engine) CloseQueue(reason string) {
	if x.queue == nil {
		return
	}
	if n := x.queue.items(); n > 0 {
		if reason == "spindown" {
			x.stats.abandoned.Add(n)
			x.log.Warn("shutting down with data that could not be sent: abandoned", "items", n)
		} else {
			x.log.Warn("data that could not be sent stays on disk for the next start", "items", n, "reason", reason)
		}
	}
	_ = x.queue.close()
}
