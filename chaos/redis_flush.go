package chaos

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

var redisFlushSpec = Spec{
	Name:       "redis-flush",
	About:      "FLUSHDB on the server's Redis database: every lock, hold and queue entry gone, the process stays up",
	Needs:      "a Redis URL",
	LosesHolds: true,
}

type redisFlush struct{}

func (redisFlush) Name() string { return redisFlushSpec.Name }

func (redisFlush) Inject(ctx context.Context, t *Target, _ Params) (func(context.Context) error, error) {
	if t.RedisURL == "" {
		return nil, unsupported("redis-flush", "no Redis URL")
	}
	opt, err := redis.ParseURL(t.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("redis-flush: %w", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.FlushDB(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis-flush: %w", err)
	}
	return nil, nil
}
