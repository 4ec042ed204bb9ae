package chaos

import (
	"context"
	"fmt"

	"stampede/sut"
)

var redisPauseSpec = Spec{
	Name:   "redis-pause",
	About:  "SIGSTOP the Redis process for `for`, then SIGCONT: requests hang rather than fail",
	Needs:  "a Redis process the run started",
	Window: true,
}

type redisPause struct{}

func (redisPause) Name() string { return redisPauseSpec.Name }

// Inject stops Redis. A restart of the same process in progress is waited for first, and the
// recovery waits for one that starts during the window (the restarted process was never
// stopped; continuing it is harmless).
func (redisPause) Inject(ctx context.Context, t *Target, _ Params) (func(context.Context) error, error) {
	p, ok := t.Redis.(sut.Pauser)
	if !ok {
		return nil, unsupported("redis-pause", "the run does not own the Redis process (external Redis)")
	}
	done, err := t.exclusive(ctx, t.Redis)
	if err != nil {
		return nil, fmt.Errorf("redis-pause: %w", err)
	}
	err = p.Pause()
	done()
	if err != nil {
		return nil, fmt.Errorf("redis-pause: %w", err)
	}
	return func(ctx context.Context) error {
		done, err := t.exclusive(ctx, t.Redis)
		if err != nil {
			return fmt.Errorf("redis-pause: recover: %w", err)
		}
		defer done()
		if err := p.Resume(); err != nil {
			return fmt.Errorf("redis-pause: recover: %w", err)
		}
		return nil
	}, nil
}
