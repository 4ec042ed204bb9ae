package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"sync"
	"time"
)

// Restarter is a process that can be killed with SIGKILL and started again on the same port
// (infra/local.Process, the reference server's child process).
type Restarter interface {
	Restart(ctx context.Context) error
}

// Pauser is a process that can be stopped with SIGSTOP and continued with SIGCONT.
type Pauser interface {
	Pause() error
	Resume() error
}

// Proxy is a network proxy in the path between the server and a backing service
// (an embedded toxiproxy proxy, see NetProxy).
type Proxy interface {
	// AddToxic adds a toxiproxy toxic given as its JSON definition.
	AddToxic(ctx context.Context, toxic Toxic) error
	RemoveToxic(ctx context.Context, name string) error
	// Disable closes every connection and refuses new ones until Enable.
	Disable() error
	Enable() error
}

// Target is what faults act on: handles for the services of one run. A nil or empty handle
// means the run does not have it, and faults that need it return ErrUnsupported.
type Target struct {
	// Redis is the Redis process, when the run owns it (a Restarter and Pauser).
	Redis any
	// RedisURL reaches Redis over the network (redis-flush).
	RedisURL string
	// DB is the database the server uses: a postgres:// URL or mysql:// DSN (db-conn-kill).
	DB string
	// PSP is the payment processor's base URL (psp-* faults).
	PSP string
	// Server is the reference server's base URL (failpoints, pool-exhaustion).
	Server string
	// ServerProc is the reference server's process, when the run started it (server-crash).
	ServerProc any
	// Proxies are the network proxies in the path, by service: "db", "redis", "psp".
	Proxies map[string]Proxy
	// Rand is the seeded source every random choice of a fault draws from.
	Rand *rand.Rand
	// HTTP is the client for admin endpoints; nil means a client with a 10 s timeout.
	HTTP *http.Client

	mu  sync.Mutex
	psp map[string]pspSettings // active processor faults, merged into one PUT
	// procs serialise the faults that act on one process (see exclusive).
	procs map[any]chan struct{}
}

// exclusive waits until no other fault is acting on the process h and returns the function
// that lets the next one act. Faults on one process take turns: a redis-pause that comes while
// a redis-restart is bringing Redis back waits for it, rather than finding no process to
// signal. A handle that cannot be a map key (not a pointer) is not serialised.
func (t *Target) exclusive(ctx context.Context, h any) (func(), error) {
	if h == nil || !reflect.TypeOf(h).Comparable() {
		return func() {}, nil
	}
	t.mu.Lock()
	if t.procs == nil {
		t.procs = map[any]chan struct{}{}
	}
	turn := t.procs[h]
	if turn == nil {
		turn = make(chan struct{}, 1)
		t.procs[h] = turn
	}
	t.mu.Unlock()
	select {
	case turn <- struct{}{}:
		return func() { <-turn }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (t *Target) client() *http.Client {
	if t.HTTP != nil {
		return t.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// rand returns an int drawn from the target's seeded source, under its lock.
func (t *Target) randPick(n, k int) []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.Rand == nil {
		t.Rand = rand.New(rand.NewPCG(1, 2))
	}
	return pick(t.Rand, n, k)
}

func (t *Target) randUint64() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.Rand == nil {
		t.Rand = rand.New(rand.NewPCG(1, 2))
	}
	return t.Rand.Uint64()
}

func unsupported(fault, what string) error {
	return fmt.Errorf("%s: %s: %w", fault, what, ErrUnsupported)
}
