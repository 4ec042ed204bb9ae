package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"sync"
	"time"

	"stampede/internal/admintoken"
	"stampede/sut"
)

// Target is what faults act on: the handles of the system under test in one run (sut.Handles:
// a nil or empty handle means the run does not have it, and faults that need it return an
// error wrapping sut.ErrUnsupported), the run's seeded source, and the state faults share.
type Target struct {
	sut.Handles
	// Rand is the seeded source every random choice of a fault draws from.
	Rand *rand.Rand
	// HTTP is the client for admin endpoints; nil means a client with a 10 s timeout.
	HTTP *http.Client

	mu  sync.Mutex
	psp map[string]pspSettings // active processor faults, merged into one PUT
	// procs serialise the faults that act on one process (see exclusive).
	procs map[sut.Service]chan struct{}
}

// exclusive waits until no other fault is acting on the process h and returns the function
// that lets the next one act. Faults on one process take turns: a redis-pause that comes while
// a redis-restart is bringing Redis back waits for it, rather than finding no process to
// signal. A handle that cannot be a map key (not a pointer) is not serialised.
func (t *Target) exclusive(ctx context.Context, h sut.Service) (func(), error) {
	if h == nil || !reflect.TypeOf(h).Comparable() {
		return func() {}, nil
	}
	t.mu.Lock()
	if t.procs == nil {
		t.procs = map[sut.Service]chan struct{}{}
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

// do sends an admin request with the run's admin token (Handles.AdminToken).
func (t *Target) do(req *http.Request) (*http.Response, error) {
	admintoken.Set(req, t.AdminToken)
	return t.client().Do(req)
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
	return fmt.Errorf("%s: %s: %w", fault, what, sut.ErrUnsupported)
}
