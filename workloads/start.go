package workloads

import (
	"context"
	"fmt"
	"time"
)

// MaxStartLate is how far in the past Config.StartAt may be. A shard whose machine or pod came
// up a little late still runs, at once; one later than this is refused, because its herd would
// no longer overlap the other shards' as the scenario means.
const MaxStartLate = time.Minute

// CheckStartAt returns an error when t, a common start instant of sharded drivers, lies more
// than MaxStartLate before now. The zero t (start at once) is always fine.
func CheckStartAt(t, now time.Time) error {
	if t.IsZero() {
		return nil
	}
	if late := now.Sub(t); late > MaxStartLate {
		return fmt.Errorf("start instant %s is %s in the past (more than %s): give every shard an instant still ahead, e.g. a few minutes from now",
			t.Format(time.RFC3339), late.Round(time.Second), MaxStartLate)
	}
	return nil
}

// waitForStart blocks until Config.StartAt, when it is set and still ahead, checking again that
// it has not long passed (the set-up may have taken a while). It returns ctx's error when ctx
// ends first.
func (d *Driver) waitForStart(ctx context.Context) error {
	at := d.cfg.StartAt
	if at.IsZero() {
		return nil
	}
	if err := CheckStartAt(at, time.Now()); err != nil {
		return err
	}
	wait := time.Until(at)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("wait for the start at %s: %w", at.Format(time.RFC3339), ctx.Err())
	case <-t.C:
		return nil
	}
}
