// Package proc runs the processes stampede starts itself and faults act on: services started
// from installed binaries and stampede's own reference server. A Process runs in a process
// group of its own, dies with stampede (the parent-death signal), and can be killed, paused,
// resumed and restarted on the same port with the same files; Kill, Pause and Resume reach
// every process it started, found through /proc, so the package is for Linux.
//
// It is a leaf (the standard library only) so that test helpers (internal/testsvc) and the
// local provider (infra/local, which starts PostgreSQL and MariaDB with it) share one process
// runner: StartRedis lives here for the same reason, as tests start a Redis of their own.
// FindBinary looks for a binary in PATH and then in the usual places, and names the package to
// install when it is nowhere (*MissingBinaryError).
package proc
