package spill_test

import (
	"fmt"
	"log"
	"os"

	"github.com/lambdaotel/lambdaotel/internal/pipeline"
	"github.com/lambdaotel/lambdaotel/internal/pipeline/spill"
)

// A flush puts what it could not send, and a later flush replays it.
func Example() {
	dir, _ := os.MkdirTemp("", "spill")
	defer os.RemoveAll(dir)
	q, err := spill.Open(spill.Config{Dir: dir}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	// The backend did not answer in time: keep the batch.
	_ = q.Put(spill.Record{Signal: pipeline.Traces, Exporter: "otlphttp", Data: []byte("OTLP request"), Items: 3})

	// A later flush, with the backend back.
	export := func(r spill.Record) error { fmt.Printf("%s %s %d items\n", r.Exporter, r.Signal, r.Items); return nil }
	q.Rewind()
	for {
		rec, tok, ok := q.Next()
		if !ok {
			break
		}
		if err := export(rec); err != nil {
			q.Release(tok)
			break
		}
		_ = q.Ack(tok)
	}
	fmt.Println(q.Stats().Records, "left")
	// Output:
	// otlphttp traces 3 items
	// 0 left
}
