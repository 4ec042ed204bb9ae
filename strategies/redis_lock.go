package strategies

import "errors"

func newRedisLock(Deps) (Strategy, error) { return nil, errors.New("redis_lock: not implemented yet") }
