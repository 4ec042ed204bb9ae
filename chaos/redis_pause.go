package chaos

import (
	"context"
	"fmt"
)

var redisPauseSpec = Spec{
	Name:   "redis-pause",
	About:  "SIGSTOP the Redis process for `for`, then SIGCONT: requests hang rather than fail",
	Needs:  "a Redis process the run started",
	Window: true,
}

type redisPause struct{}

func (redisPause) Name() string { return redisPauseSpec.Name }

func (redisPause) Inject(_ context.Context, t *Target, _ Params) (func(context.Context) error, error) {
	p, ok := t.Redis.(Pauser)
	if !ok {
		return nil, unsupported("redis-pause", "the run does not own the Redis process (external Redis)")
	}
	if err := p.Pause(); err != nil {
		return nil, fmt.Errorf("redis-pause: %w", err)
	}
	return func(context.Context) error { return p.Resume() }, nil
}
