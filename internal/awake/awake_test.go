package awake

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWithTimeout: the context ends with the cause DeadlineExceeded once
// its time has passed awake, ends with its parent, has no deadline, and a
// cancelled one says so.
func TestWithTimeout(t *testing.T) {
	ctx, cancel := WithTimeout(context.Background(), 3*Tick)
	defer cancel()
	if _, ok := ctx.Deadline(); ok {
		t.Error("an awake timeout has a wall-clock deadline")
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
		t.Fatal("the timeout never ended the context")
	}
	if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Errorf("cause %v, want DeadlineExceeded", context.Cause(ctx))
	}

	parent, stop := context.WithCancel(context.Background())
	ctx, cancel = WithTimeout(parent, time.Hour)
	defer cancel()
	stop()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("after the parent ended: %v, want Canceled", ctx.Err())
	}

	ctx, cancel = WithTimeout(context.Background(), time.Hour)
	cancel()
	<-ctx.Done()
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Error("a cancelled context says its time ran out")
	}
}
