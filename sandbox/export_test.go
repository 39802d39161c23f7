package sandbox

import "time"

// FrozenAt is when env was last frozen, for the freeze tests.
func FrozenAt(env *Env) time.Time {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.frozenAt
}
