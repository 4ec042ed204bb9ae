package strategies

import "context"

// This file holds the strategies that are broken on purpose, besides naive: each is a safe
// strategy with one guard taken out, so that the checker can be shown to catch that exact
// mistake. Both are registered as unsafe: New refuses them without allowUnsafe, and Safe (which
// the conformance, server and matrix tests iterate) leaves them out.
//
// redis-lock-unfenced is redis-lock whose seat confirm trusts the lock it took at hold time. It
// neither checks before the charge nor claims after it that the seat keys in Redis are still
// its own, and its database write has no fencing condition (nor any on the seat's status). A
// buyer whose hold expired during a slow payment, and whose seat was held and bought by someone
// else meanwhile, still books it: one seat, two bookings. General-admission holds keep the safe
// path.
//
// status-expiry-blind is status-expiry whose seat confirm ignores who holds the seat: no check
// before the charge, and an UPDATE that names the seats without any condition on their holder
// or status. A confirm that arrives after its hold expired and another buyer took (or bought)
// the seat still sells it. General-admission holds keep the safe path.

func newRedisLockUnfenced(d Deps) (Strategy, error) {
	s, err := NewRedisLock(d)
	if err != nil {
		return nil, err
	}
	s.unfenced = true
	return s, nil
}

func newStatusExpiryBlind(d Deps) (Strategy, error) {
	b, err := newSQLBase("status-expiry-blind", d)
	if err != nil {
		return nil, err
	}
	return &statusExpiry{sqlBase: b, blind: true}, nil
}

// lockCheck runs checkLock in mode, unless the broken variant trusts its lock (then the answer
// is always 1, ours, and Redis is not asked).
func (s *RedisLock) lockCheck(ctx context.Context, h Hold, mode string, trust bool) (int64, error) {
	if trust {
		return 1, nil
	}
	return s.checkLock(ctx, h, mode)
}
