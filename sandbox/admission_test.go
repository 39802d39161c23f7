package sandbox

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// waitQueued waits until a has n waiters queued.
func waitQueued(t *testing.T, a *admission, n int) {
	t.Helper()
	for range 10000 {
		a.mu.Lock()
		got := len(a.queue)
		a.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("admission never had %d waiters", n)
}

// TestAdmissionOrder checks that waiters are admitted in the order they
// arrived, that a cancelled waiter leaves the queue, and that a request for
// every slot waits for the invocations in flight without letting later
// ones pass.
func TestAdmissionOrder(t *testing.T) {
	a := newAdmission(2)
	ctx := context.Background()
	for range 2 {
		if err := a.acquire(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	admitted := make(chan string, 10)
	enqueue := func(name string, ctx context.Context, n int) {
		go func() {
			if a.acquire(ctx, n) == nil {
				admitted <- name
			} else {
				admitted <- name + " cancelled"
			}
		}()
	}
	cctx, cancel := context.WithCancel(ctx)
	enqueue("first", ctx, 1)
	waitQueued(t, a, 1)
	enqueue("gone", cctx, 1)
	waitQueued(t, a, 2)
	enqueue("all", ctx, 2)
	waitQueued(t, a, 3)
	enqueue("last", ctx, 1)
	waitQueued(t, a, 4)

	cancel()
	if got := <-admitted; got != "gone cancelled" {
		t.Fatalf("got %q, want the cancelled waiter to leave", got)
	}
	a.release(1) // first gets it
	if got := <-admitted; got != "first" {
		t.Fatalf("got %q, want first", got)
	}
	a.release(1) // one free: "all" needs two and "last" must wait behind it
	select {
	case got := <-admitted:
		t.Fatalf("%q admitted while the request for every slot waits", got)
	case <-time.After(20 * time.Millisecond):
	}
	a.release(1)
	if got := <-admitted; got != "all" {
		t.Fatalf("got %q, want all", got)
	}
	a.release(2)
	if got := <-admitted; got != "last" {
		t.Fatalf("got %q, want last", got)
	}
	a.release(1)
	if a.used != 0 || len(a.queue) != 0 {
		t.Errorf("used %d, queue %d after everything was released", a.used, len(a.queue))
	}
}

// TestManagedEnvironmentVariables checks the variables that tell the
// runtime and the extensions that they run on Lambda Managed Instances.
func TestManagedEnvironmentVariables(t *testing.T) {
	for _, c := range []struct {
		maxConcurrency     int
		initType, runtimeN string
	}{{0, "on-demand", ""}, {1, "on-demand", ""}, {4, "lambda-managed-instances", "4"}} {
		cfg := Config{TaskRoot: t.TempDir(), Command: []string{"/bin/true"}, MaxConcurrency: c.maxConcurrency}
		cfg, err := cfg.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		rt := cfg.processEnv(true, "127.0.0.1:1", "", "stream")
		ext := cfg.processEnv(false, "127.0.0.1:1", "", "stream")
		for name, env := range map[string][]string{"runtime": rt, "extension": ext} {
			if v := envValue(env, "AWS_LAMBDA_INITIALIZATION_TYPE"); v != c.initType {
				t.Errorf("max concurrency %d: %s AWS_LAMBDA_INITIALIZATION_TYPE=%q, want %q", c.maxConcurrency, name, v, c.initType)
			}
		}
		if v := envValue(rt, "AWS_LAMBDA_MAX_CONCURRENCY"); v != c.runtimeN {
			t.Errorf("max concurrency %d: runtime AWS_LAMBDA_MAX_CONCURRENCY=%q, want %q", c.maxConcurrency, v, c.runtimeN)
		}
		if slices.ContainsFunc(ext, func(kv string) bool { return strings.HasPrefix(kv, "AWS_LAMBDA_MAX_CONCURRENCY=") }) {
			t.Errorf("max concurrency %d: extensions get AWS_LAMBDA_MAX_CONCURRENCY", c.maxConcurrency)
		}
	}
}

// TestManagedConfig checks the defaults and the refused settings of
// Managed Instances.
func TestManagedConfig(t *testing.T) {
	base := func() Config { return Config{TaskRoot: t.TempDir(), Command: []string{"/bin/true"}, MaxConcurrency: 8} }
	cfg, err := base().withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.NoFreeze || cfg.InitTimeout != 130*time.Second {
		t.Errorf("no freeze %v, init timeout %v; want no freeze and 130s", cfg.NoFreeze, cfg.InitTimeout)
	}
	long := base()
	long.Timeout = 300 * time.Second
	if cfg, _ := long.withDefaults(); cfg.InitTimeout != 300*time.Second {
		t.Errorf("init timeout %v with a 300s function timeout, want 300s", cfg.InitTimeout)
	}
	for name, mod := range map[string]func(*Config){
		"negative":      func(c *Config) { c.MaxConcurrency = -1 },
		"freeze-min":    func(c *Config) { c.FreezeMin = time.Second },
		"freeze-method": func(c *Config) { c.FreezeMethod = FreezeSignal },
	} {
		c := base()
		mod(&c)
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
