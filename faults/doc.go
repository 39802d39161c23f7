// Package faults is the fault-injection suite: its tests drive the
// sandbox, the extension and a backend that misbehaves on purpose through
// scenarios of many invocations with random freeze lengths, count by item
// id what the function reported and what reached the backend, and print a
// scoreboard (also written to the file named by LAMBDAOTEL_SCOREBOARD).
package faults
