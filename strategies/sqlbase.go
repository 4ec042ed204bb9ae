package strategies

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// sqlBase is what the SQL strategies share: the store, the clock, the default TTL, and the
// reads of holds and availability over the shared tables. Strategies that keep their holds in
// the holds table and their seats in the seats table embed it.
type sqlBase struct {
	name  string
	db    sqldb.DB
	store *Store
	clock func() time.Time
	ttl   time.Duration
	log   *slog.Logger
	fp    *failpoint.Set
	// sweepEvery and sweepBatch drive the sweeper of strategies that run one.
	sweepEvery time.Duration
	sweepBatch int
	// groups batches concurrent single-seat holds together on MySQL; nil when they run alone.
	groups *holdGroups
}

// newSQLBase builds the shared part of a SQL strategy and applies Deps.SafetyNet. Zero Deps
// fields get their documented defaults, so constructors called outside New work too.
func newSQLBase(name string, d Deps) (sqlBase, error) {
	if d.DB == nil {
		return sqlBase{}, fmt.Errorf("%s: no database", name)
	}
	d.defaults()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := applySafetyNet(ctx, d.DB, d.SafetyNet); err != nil {
		return sqlBase{}, fmt.Errorf("%s: %w", name, err)
	}
	return sqlBase{name: name, db: d.DB, store: NewStore(d.DB, d.Now), clock: d.Now, ttl: d.HoldTTL, log: d.Logger,
		fp: d.Failpoints, sweepEvery: d.SweepInterval, sweepBatch: d.SweepBatch,
		groups: newHoldGroups(d.DB, d.Now, d.HoldGroups)}, nil
}

// Name is the strategy's registry name.
func (b *sqlBase) Name() string { return b.name }

// now is the application clock as the database stores times. Every comparison with expires_at
// uses it (passed as a parameter), never the database's now(), so one clock rules both dialects.
func (b *sqlBase) now() time.Time { return dbTime(b.clock()) }

// GetHold returns a hold with its implicit status (expired once past its expiry).
func (b *sqlBase) GetHold(ctx context.Context, holdID string) (Hold, error) {
	h, err := loadHold(ctx, sqldb.OnPool(b.db, tagRead), holdID, false)
	if err != nil {
		return h, err
	}
	h.Status = effectiveStatus(h, b.now())
	return h, nil
}

// Holds lists the event's holds that are not sold, oldest expiry first, with implicit statuses.
func (b *sqlBase) Holds(ctx context.Context, eventID string) ([]Hold, error) {
	if _, err := b.store.GetEvent(ctx, eventID); err != nil {
		return nil, err
	}
	now := b.now()
	var out []Hold
	err := b.db.Query(ctx, tagRead, "SELECT "+holdColumns+" FROM holds WHERE event_id = ? AND status <> ? ORDER BY expires_at, id",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				h, err := scanHold(rows)
				if err != nil {
					return err
				}
				h.Status = effectiveStatus(h, now)
				out = append(out, h)
			}
			return nil
		}, eventID, StatusSold)
	if err != nil {
		return nil, fmt.Errorf("list holds of %s: %w", eventID, err)
	}
	return out, nil
}

// Availability computes the seat map and tier counts with the implicit-status rule: a seat
// held by an expired hold is available, and a tier's held count is the quantity of its
// unexpired holds (Available = Capacity - Sold - Held).
func (b *sqlBase) Availability(ctx context.Context, eventID string) (Availability, error) {
	return availability(ctx, b.db, eventID, b.now())
}

func availability(ctx context.Context, db sqldb.DB, eventID string, now time.Time) (Availability, error) {
	a := Availability{EventID: eventID, AsOf: now, Seats: []SeatState{}, Tiers: []TierState{}}
	err := db.Query(ctx, tagRead, "SELECT seat_id, status, price_cents, hold_id, expires_at, booking_id FROM seats WHERE event_id = ? ORDER BY seat_id",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var s SeatState
				var hold, booking *string
				var exp *time.Time
				if err := rows.Scan(&s.ID, &s.Status, &s.PriceCents, &hold, &exp, &booking); err != nil {
					return err
				}
				switch {
				case s.Status == SeatHeld && (exp == nil || expired(*exp, now)):
					s.Status = SeatAvailable
				case s.Status == SeatHeld && hold != nil:
					s.HoldID = *hold
				case s.Status == SeatSold && booking != nil:
					s.BookingID = *booking
				}
				a.Seats = append(a.Seats, s)
			}
			return nil
		}, eventID)
	if err != nil {
		return a, fmt.Errorf("read seats of %s: %w", eventID, err)
	}
	active := map[string]int64{}
	err = db.Query(ctx, tagRead, "SELECT tier, SUM(quantity) FROM holds WHERE event_id = ? AND status = ? AND tier <> '' AND expires_at > ? GROUP BY tier",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var tier string
				var n int64
				if err := rows.Scan(&tier, &n); err != nil {
					return err
				}
				active[tier] = n
			}
			return nil
		}, eventID, StatusHeld, now)
	if err != nil {
		return a, fmt.Errorf("read tier holds of %s: %w", eventID, err)
	}
	err = db.Query(ctx, tagRead, "SELECT tier, capacity, price_cents, sold FROM ga_tiers WHERE event_id = ? ORDER BY tier",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var t TierState
				if err := rows.Scan(&t.Name, &t.Capacity, &t.PriceCents, &t.Sold); err != nil {
					return err
				}
				t.Held = active[t.Name]
				t.Available = t.Capacity - t.Sold - t.Held
				a.Tiers = append(a.Tiers, t)
			}
			return nil
		}, eventID)
	if err != nil {
		return a, fmt.Errorf("read tiers of %s: %w", eventID, err)
	}
	if len(a.Seats) == 0 && len(a.Tiers) == 0 {
		if err := eventExists(ctx, sqldb.OnPool(db, tagRead), eventID); err != nil {
			return a, err
		}
	}
	return a, nil
}

// eventExists returns ErrEventNotFound when there is no such event.
func eventExists(ctx context.Context, q sqldb.Querier, eventID string) error {
	var n int
	if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM events WHERE id = ?", []any{&n}, eventID); err != nil {
		return fmt.Errorf("read event %s: %w", eventID, err)
	}
	if n == 0 {
		return fmt.Errorf("event %s: %w", eventID, ErrEventNotFound)
	}
	return nil
}
