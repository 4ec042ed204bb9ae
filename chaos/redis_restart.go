package chaos

import (
	"context"
	"fmt"

	"stampede/sut"
)

var redisRestartSpec = Spec{
	Name:       "redis-restart",
	About:      "kill -9 the Redis process and start it again empty: every lock, hold and queue entry gone",
	Needs:      "a Redis process the run started",
	LosesHolds: true,
}

type redisRestart struct{}

func (redisRestart) Name() string { return redisRestartSpec.Name }

func (redisRestart) Inject(ctx context.Context, t *Target, _ Params) (func(context.Context) error, error) {
	r, ok := t.Redis.(sut.Restarter)
	if !ok {
		return nil, unsupported("redis-restart", "the run does not own the Redis process (external Redis)")
	}
	done, err := t.exclusive(ctx, t.Redis)
	if err != nil {
		return nil, fmt.Errorf("redis-restart: %w", err)
	}
	defer done()
	// From the kill on Redis is down: bring it back even when the run ends meanwhile (ctx
	// cancelled), as server-crash does; Start bounds the wait for readiness itself.
	if err := r.Restart(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("redis-restart: %w", err)
	}
	return nil, nil
}
