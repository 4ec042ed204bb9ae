package strategies

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"stampede/internal/failpoint"
	"stampede/internal/sqldb"
)

// Connection tags: every statement a strategy runs carries one of them, so pool wait and
// connection hold time are measured per kind of work.
const (
	tagHold     = "hold"
	tagCheckout = "checkout"
	tagSweeper  = "sweeper"
	tagRead     = "read"
)

// Limits of a hold request, as the booking contract states them.
const (
	maxSeatsPerHold    = 10
	maxQuantityPerHold = 10
	maxSessionLen      = 128
	maxSeatIDLen       = 32
)

// FieldError is a request that is invalid because of one field. It matches ErrInvalid with
// errors.Is; Field names the offending field as the request spells it (sections[2].rows).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Is makes a FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// UnavailableError names the seats that made a hold fail. It matches ErrUnavailable with
// errors.Is; callers that report the seats use errors.As.
type UnavailableError struct {
	Seats []string
}

func (e *UnavailableError) Error() string {
	return "seats " + strings.Join(e.Seats, ", ") + ": " + ErrUnavailable.Error()
}

// Is makes an UnavailableError match ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// newID returns prefix followed by 16 random hex digits (64 bits): "h_" for holds, "b_" for
// bookings. crypto/rand never fails on the platforms stampede supports.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// encodeList stores a list of ids in one TEXT column, comma-separated. Ids never contain commas
// (seat ids are SECTION-ROW-NUMBER, unit ids are chosen by the strategy).
func encodeList(ids []string) string { return strings.Join(ids, ",") }

// decodeList is the inverse of encodeList; the empty string is an empty (nil) list.
func decodeList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// sortSeats returns the seat ids in the fixed lock order (byte order, which is also the order of
// the seats primary key on both databases: MySQL tables use utf8mb4_bin, PostgreSQL orders
// ORDER BY seat_id consistently within one database). It rejects an empty list, more than ten
// seats, empty or overlong ids and duplicates.
func sortSeats(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, invalid("seats", "at least one seat is required")
	}
	if len(ids) > maxSeatsPerHold {
		return nil, invalid("seats", "at most %d seats per hold, got %d", maxSeatsPerHold, len(ids))
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	for i, id := range out {
		if id == "" || len(id) > maxSeatIDLen || strings.ContainsAny(id, ", ") {
			return nil, invalid("seats", "seat id %q is not a seat id (SECTION-ROW-NUMBER)", id)
		}
		if i > 0 && out[i-1] == id {
			return nil, invalid("seats", "seat %s is listed twice", id)
		}
	}
	return out, nil
}

// checkHoldRequest validates r and returns it with its seats in lock order and its TTL set: a
// request without one gets ttl, the strategy's Deps.HoldTTL (which Deps.defaults has set).
func checkHoldRequest(r HoldRequest, ttl time.Duration) (HoldRequest, error) {
	if r.EventID == "" {
		return r, invalid("event_id", "required")
	}
	if len(r.Session) > maxSessionLen {
		return r, invalid("session", "at most %d characters", maxSessionLen)
	}
	if r.TTL < 0 {
		return r, invalid("ttl", "must not be negative")
	}
	if r.TTL == 0 {
		r.TTL = ttl
	}
	switch {
	case len(r.Seats) > 0 && (r.Tier != "" || r.Quantity != 0):
		return r, invalid("seats", "give either seats or tier and quantity, not both")
	case len(r.Seats) > 0:
		seats, err := sortSeats(r.Seats)
		if err != nil {
			return r, err
		}
		r.Seats = seats
	case r.Tier != "":
		if r.Quantity < 1 || r.Quantity > maxQuantityPerHold {
			return r, invalid("quantity", "must be 1..%d", maxQuantityPerHold)
		}
	default:
		return r, invalid("seats", "give seats, or tier and quantity")
	}
	return r, nil
}

// inList returns "?, ?, ?" for n placeholders.
func inList(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// appendArgs appends ids to args as []any.
func appendArgs(args []any, ids []string) []any {
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// dbTime is t as both databases store it: UTC, microseconds.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// expired reports whether a hold that expires at exp is past its expiry at now. A hold lives
// for [taken, exp): at exp itself it has expired. SQL spells the same rule expires_at <= now.
func expired(exp, now time.Time) bool { return !now.Before(exp) }

// uniqueViolation reports a duplicate key (PostgreSQL 23505, MySQL 1062).
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

// safetyNetIndex is the optional UNIQUE index on booked seats.
const safetyNetIndex = "booking_seats_unique"

// applySafetyNet creates the UNIQUE (event_id, seat_id) index on booking_seats when on, and
// drops it when off, so that a verification run never inherits the net from an earlier run.
// The tables must exist (Migrate) before the net can be switched on.
func applySafetyNet(ctx context.Context, db sqldb.DB, on bool) error {
	var exists bool
	var n int
	switch db.Dialect() {
	case sqldb.Postgres:
		err := db.QueryRow(ctx, tagRead, "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?", []any{&n}, safetyNetIndex)
		if err != nil {
			return fmt.Errorf("look up safety net index: %w", err)
		}
	default:
		err := db.QueryRow(ctx, tagRead, "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'booking_seats' AND index_name = ?", []any{&n}, safetyNetIndex)
		if err != nil {
			return fmt.Errorf("look up safety net index: %w", err)
		}
	}
	exists = n > 0
	switch {
	case on && !exists:
		_, err := db.Exec(ctx, tagRead, "CREATE UNIQUE INDEX "+safetyNetIndex+" ON booking_seats (event_id, seat_id)")
		if err != nil && !duplicateIndex(err) {
			return fmt.Errorf("create safety net index (run migrations first): %w", err)
		}
	case !on && exists:
		q := "DROP INDEX " + safetyNetIndex
		if db.Dialect() == sqldb.MySQL {
			q += " ON booking_seats"
		}
		if _, err := db.Exec(ctx, tagRead, q); err != nil {
			return fmt.Errorf("drop safety net index: %w", err)
		}
	}
	return nil
}

// insertBooking writes a booking and one booking_seats row per seat or GA unit it sold, in the
// caller's transaction. Callers update seats or units and the hold first (the fixed table order:
// seats/units, holds, bookings).
func insertBooking(ctx context.Context, tx sqldb.Querier, b Booking) error {
	_, err := tx.Exec(ctx, `INSERT INTO bookings (id, event_id, hold_id, session, seats, tier, quantity, units, charge_id, amount_cents, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.EventID, b.HoldID, b.Session, encodeList(b.Seats), b.Tier, b.Quantity, encodeList(b.Units),
		b.ChargeID, b.AmountCents, dbTime(b.Created))
	if err != nil {
		return fmt.Errorf("insert booking %s: %w", b.ID, err)
	}
	ids := append(slices.Clone(b.Seats), b.Units...)
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(ids))
	for _, id := range ids {
		args = append(args, b.EventID, id, b.ID)
	}
	q := "INSERT INTO booking_seats (event_id, seat_id, booking_id) VALUES " + strings.Repeat("(?, ?, ?), ", len(ids)-1) + "(?, ?, ?)"
	if _, err := tx.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("insert booked seats of %s: %w", b.ID, err)
	}
	return nil
}

// holdColumns are the holds table's columns in the order scanHold reads them.
const holdColumns = "id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, booking_id"

// scanHold reads one holds row selected with holdColumns. Status is the stored status; callers
// apply the implicit rule with effectiveStatus.
func scanHold(rows interface{ Scan(...any) error }) (Hold, error) {
	var h Hold
	var seats, units string
	var ttlMS int64
	var booking *string
	if err := rows.Scan(&h.ID, &h.EventID, &h.Session, &seats, &h.Tier, &h.Quantity, &units, &h.AmountCents,
		&h.Status, &h.Expires, &ttlMS, &h.Token, &booking); err != nil {
		return h, err
	}
	h.Seats, h.Units = decodeList(seats), decodeList(units)
	h.Expires = h.Expires.UTC()
	h.TTL = time.Duration(ttlMS) * time.Millisecond
	if booking != nil {
		h.BookingID = *booking
	}
	return h, nil
}

// effectiveStatus applies the implicit-status rule: a held hold past its expiry is expired.
func effectiveStatus(h Hold, now time.Time) string {
	if h.Status == StatusHeld && expired(h.Expires, now) {
		return StatusExpired
	}
	return h.Status
}

// loadHold reads a hold with its stored status; forUpdate locks the row for the transaction.
func loadHold(ctx context.Context, q sqldb.Querier, id string, forUpdate bool) (Hold, error) {
	query := "SELECT " + holdColumns + " FROM holds WHERE id = ?"
	if forUpdate {
		query += " FOR UPDATE"
	}
	var h Hold
	var found bool
	err := q.Query(ctx, query, func(rows sqldb.Rows) error {
		if !rows.Next() {
			return nil
		}
		var err error
		h, err = scanHold(rows)
		found = err == nil
		return err
	}, id)
	if err != nil {
		return h, fmt.Errorf("read hold %s: %w", id, err)
	}
	if !found {
		return h, fmt.Errorf("hold %s: %w", id, ErrHoldNotFound)
	}
	return h, nil
}

// insertHold writes a new holds row with status held.
func insertHold(ctx context.Context, tx sqldb.Querier, h Hold, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO holds (id, event_id, session, seats, tier, quantity, units, amount_cents, status, expires_at, ttl_ms, token, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, h.EventID, h.Session, encodeList(h.Seats), h.Tier, h.Quantity, encodeList(h.Units), h.AmountCents,
		StatusHeld, dbTime(h.Expires), h.TTL.Milliseconds(), h.Token, dbTime(now))
	if err != nil {
		return fmt.Errorf("insert hold %s: %w", h.ID, err)
	}
	return nil
}

// alreadySold answers a Confirm of a hold that is already sold: the existing booking when the
// request carries the same booking id (a retried confirm), ErrHoldSold otherwise.
func alreadySold(ctx context.Context, store *Store, h Hold, bookingID string) (Booking, error) {
	if bookingID != "" && h.BookingID == bookingID {
		return store.GetBooking(ctx, bookingID)
	}
	return Booking{}, fmt.Errorf("hold %s (booking %s): %w", h.ID, h.BookingID, ErrHoldSold)
}

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
		fp: d.Failpoints, sweepEvery: d.SweepInterval, sweepBatch: d.SweepBatch}, nil
}

// Name is the strategy's registry name.
func (b *sqlBase) Name() string { return b.name }

// now is the application clock as the database stores times. Every comparison with expires_at
// uses it (passed as a parameter), never the database's now(), so one clock rules both dialects.
func (b *sqlBase) now() time.Time { return dbTime(b.clock()) }

// newBookingID is the request's booking id, or a fresh one.
func newBookingID(requested string) string {
	if requested != "" {
		return requested
	}
	return newID("b_")
}

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

// tierRow is a general-admission tier's counter row. Available + Held + Sold == Capacity, where
// Held still counts expired holds until they are reclaimed (lazily by the next hold that finds
// the tier short, or by a sweep).
type tierRow struct {
	Capacity, PriceCents, Available, Held, Sold int64
}

// lockTier reads a tier's counters and locks the row for tx (ErrTierNotFound, ErrEventNotFound).
func lockTier(ctx context.Context, tx sqldb.Querier, eventID, tier string) (tierRow, error) {
	var t tierRow
	err := tx.QueryRow(ctx, "SELECT capacity, price_cents, available, held, sold FROM ga_tiers WHERE event_id = ? AND tier = ? FOR UPDATE",
		[]any{&t.Capacity, &t.PriceCents, &t.Available, &t.Held, &t.Sold}, eventID, tier)
	if errors.Is(err, sqldb.ErrNoRows) {
		return t, missingTier(ctx, tx, eventID, tier)
	}
	if err != nil {
		return t, fmt.Errorf("lock tier %s: %w", tier, err)
	}
	return t, nil
}

// reclaimBatch bounds the expired holds one reclaim returns to a tier.
const reclaimBatch = 1000

// reclaimExpiredGA marks up to reclaimBatch of the tier's expired, still-counted holds expired
// and moves their units from held to available. tx must hold the tier row's lock (lockTier),
// which is taken before the holds rows, in the fixed table order. It returns the units moved
// and the number of holds they came from.
func reclaimExpiredGA(ctx context.Context, tx sqldb.Querier, eventID, tier string, now time.Time) (int64, int, error) {
	var ids []string
	var sum int64
	err := tx.Query(ctx, "SELECT id, quantity FROM holds WHERE event_id = ? AND tier = ? AND status = ? AND expires_at <= ? ORDER BY id LIMIT "+strconv.Itoa(reclaimBatch)+" FOR UPDATE",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var id string
				var q int64
				if err := rows.Scan(&id, &q); err != nil {
					return err
				}
				ids = append(ids, id)
				sum += q
			}
			return nil
		}, eventID, tier, StatusHeld, now)
	if err != nil {
		return 0, 0, fmt.Errorf("find expired holds of tier %s: %w", tier, err)
	}
	if len(ids) == 0 {
		return 0, 0, nil
	}
	if _, err := tx.Exec(ctx, "UPDATE holds SET status = ? WHERE id IN ("+inList(len(ids))+")", appendArgs([]any{StatusExpired}, ids)...); err != nil {
		return 0, 0, fmt.Errorf("expire holds of tier %s: %w", tier, err)
	}
	if _, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = available + ?, held = held - ? WHERE event_id = ? AND tier = ?",
		sum, sum, eventID, tier); err != nil {
		return 0, 0, fmt.Errorf("return expired units of tier %s: %w", tier, err)
	}
	return sum, len(ids), nil
}

// takeGAFromLocked takes q units of a locked tier for a hold: from the available count,
// reclaiming expired holds first when it is short. ErrSoldOut when even then too few are left.
func takeGAFromLocked(ctx context.Context, tx sqldb.Querier, eventID, tier string, t tierRow, q int64, now time.Time) error {
	if t.Available < q {
		n, _, err := reclaimExpiredGA(ctx, tx, eventID, tier, now)
		if err != nil {
			return err
		}
		if t.Available+n < q {
			return fmt.Errorf("tier %s: %d left, %d asked: %w", tier, t.Available+n, q, ErrSoldOut)
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = available - ?, held = held + ? WHERE event_id = ? AND tier = ?",
		q, q, eventID, tier); err != nil {
		return fmt.Errorf("hold units of tier %s: %w", tier, err)
	}
	return nil
}

// ensureUnits makes sure a GA hold whose units are no longer counted as held (reclaimed after
// expiry, or released) can still be sold from the available count, reclaiming other expired
// holds when the tier is short. t is the locked tier row; its Available is updated. A hold still
// counted as held needs nothing.
func ensureUnits(ctx context.Context, tx sqldb.Querier, h Hold, t *tierRow, now time.Time) (bool, error) {
	q := int64(h.Quantity)
	if h.Status == StatusHeld || t.Available >= q {
		return true, nil
	}
	n, _, err := reclaimExpiredGA(ctx, tx, h.EventID, h.Tier, now)
	if err != nil {
		return false, err
	}
	t.Available += n
	t.Held -= n
	return t.Available >= q, nil
}

// sellGA moves a GA hold's units to sold in a transaction that holds the tier row's lock and the
// hold row's: from held when the hold still counts them (status held, expired or not), from
// available when it was reclaimed or released. It reports false, changing nothing, when the
// units are no longer there to sell.
func sellGA(ctx context.Context, tx sqldb.Querier, h Hold, t tierRow, now time.Time) (bool, error) {
	ok, err := ensureUnits(ctx, tx, h, &t, now)
	if err != nil || !ok {
		return false, err
	}
	q := int64(h.Quantity)
	query := "UPDATE ga_tiers SET held = held - ?, sold = sold + ? WHERE event_id = ? AND tier = ?"
	if h.Status != StatusHeld {
		query = "UPDATE ga_tiers SET available = available - ?, sold = sold + ? WHERE event_id = ? AND tier = ?"
	}
	if _, err := tx.Exec(ctx, query, q, q, h.EventID, h.Tier); err != nil {
		return false, fmt.Errorf("sell units of tier %s: %w", h.Tier, err)
	}
	return true, nil
}

// markHoldSold records the booking on the hold row, after its seats or units and before the
// booking (the fixed table order).
func markHoldSold(ctx context.Context, tx sqldb.Querier, holdID, bookingID string) error {
	n, err := tx.Exec(ctx, "UPDATE holds SET status = ?, booking_id = ? WHERE id = ? AND status <> ?", StatusSold, bookingID, holdID, StatusSold)
	if err != nil {
		return fmt.Errorf("mark hold %s sold: %w", holdID, err)
	}
	if n != 1 {
		return fmt.Errorf("mark hold %s sold: already sold: %w", holdID, ErrHoldSold)
	}
	return nil
}

// release gives a hold's seats or units back (the shared Release of the SQL strategies that
// count GA units on the tier row): the tier row is locked first, and a GA hold's units return
// from held to available once the hold is marked released.
func (b *sqlBase) release(ctx context.Context, holdID string) error {
	return releaseHold(ctx, b.db, holdID,
		func(ctx context.Context, tx sqldb.Tx, h Hold) error {
			_, err := lockTier(ctx, tx, h.EventID, h.Tier)
			return err
		},
		func(ctx context.Context, tx sqldb.Tx, h Hold) error {
			if _, err := tx.Exec(ctx, "UPDATE ga_tiers SET available = available + ?, held = held - ? WHERE event_id = ? AND tier = ?",
				h.Quantity, h.Quantity, h.EventID, h.Tier); err != nil {
				return fmt.Errorf("return units: %w", err)
			}
			return nil
		})
}

// releaseHold is Release for every SQL strategy: in one transaction, the seats a held hold
// still holds become available and the hold becomes released. The seats keep hold_id, the last
// holder: only that hold may still book them (seatRow.ownedBy), and an available seat's hold_id
// is never reported as a holder. A GA hold's units belong to the strategy: freeUnits runs first,
// before the holds row changes (the fixed table order: seats or units, holds), and unitsFreed,
// when not nil, runs only when this call is the one that marked the hold released. An expired
// or released hold is not an error; a sold one is ErrHoldSold.
func releaseHold(ctx context.Context, db sqldb.DB, holdID string, freeUnits, unitsFreed func(context.Context, sqldb.Tx, Hold) error) error {
	h, err := loadHold(ctx, sqldb.OnPool(db, tagHold), holdID, false)
	if err != nil {
		return err
	}
	switch h.Status {
	case StatusSold:
		return fmt.Errorf("release %s: %w", holdID, ErrHoldSold)
	case StatusReleased, StatusExpired:
		return nil
	}
	err = db.Tx(ctx, tagHold, func(tx sqldb.Tx) error {
		if h.Tier != "" {
			if err := freeUnits(ctx, tx, h); err != nil {
				return err
			}
		} else {
			_, err := tx.Exec(ctx, "UPDATE seats SET status = ?, expires_at = NULL WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+") AND hold_id = ? AND status = ?",
				append(appendArgs([]any{SeatAvailable, h.EventID}, h.Seats), h.ID, SeatHeld)...)
			if err != nil {
				return fmt.Errorf("free seats: %w", err)
			}
		}
		n, err := tx.Exec(ctx, "UPDATE holds SET status = ? WHERE id = ? AND status = ?", StatusReleased, h.ID, StatusHeld)
		if err != nil {
			return fmt.Errorf("mark released: %w", err)
		}
		if n == 0 {
			cur, err := loadHold(ctx, tx, h.ID, false)
			if err != nil {
				return err
			}
			if cur.Status == StatusSold {
				return ErrHoldSold
			}
			return nil
		}
		if h.Tier != "" && unitsFreed != nil {
			return unitsFreed(ctx, tx, h)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release %s: %w", holdID, err)
	}
	return nil
}

// sweep releases up to batch expired holds in one pass: their seats (still held by them)
// become available and the holds expired; expired GA holds are reclaimed tier by tier. It
// returns how many holds it expired. Concurrent sweeps and holds are safe: every change is
// conditional on the hold still being held and expired.
func sweep(ctx context.Context, db sqldb.DB, now time.Time, batch int) (int, error) {
	var seatHolds []string
	tiers := map[[2]string]bool{}
	err := db.Query(ctx, tagSweeper, "SELECT id, event_id, tier FROM holds WHERE status = ? AND expires_at <= ? ORDER BY expires_at LIMIT "+strconv.Itoa(batch),
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var id, event, tier string
				if err := rows.Scan(&id, &event, &tier); err != nil {
					return err
				}
				if tier == "" {
					seatHolds = append(seatHolds, id)
				} else {
					tiers[[2]string{event, tier}] = true
				}
			}
			return nil
		}, StatusHeld, now)
	if err != nil {
		return 0, fmt.Errorf("sweep: find expired holds: %w", err)
	}
	total := 0
	if len(seatHolds) > 0 {
		slices.Sort(seatHolds)
		err := db.Tx(ctx, tagSweeper, func(tx sqldb.Tx) error {
			// The seats keep hold_id (the last holder), so a hold that expired can be booked
			// later only if nobody held its seats after it.
			args := appendArgs([]any{SeatAvailable}, seatHolds)
			args = append(args, SeatHeld, now)
			if _, err := tx.Exec(ctx, "UPDATE seats SET status = ?, expires_at = NULL WHERE hold_id IN ("+inList(len(seatHolds))+") AND status = ? AND expires_at <= ?", args...); err != nil {
				return fmt.Errorf("free seats: %w", err)
			}
			args = appendArgs([]any{StatusExpired}, seatHolds)
			args = append(args, StatusHeld, now)
			n, err := tx.Exec(ctx, "UPDATE holds SET status = ? WHERE id IN ("+inList(len(seatHolds))+") AND status = ? AND expires_at <= ?", args...)
			total = int(n)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("sweep: %w", err)
		}
	}
	for key := range tiers {
		var n int
		err := db.Tx(ctx, tagSweeper, func(tx sqldb.Tx) error {
			if _, err := lockTier(ctx, tx, key[0], key[1]); err != nil {
				return err
			}
			var err error
			_, n, err = reclaimExpiredGA(ctx, tx, key[0], key[1], now)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sweep tier %s of %s: %w", key[1], key[0], err)
		}
		total += n
	}
	return total, nil
}

// Sweep releases up to the configured batch of expired holds once, with the strategy's clock,
// and returns how many it expired. Run calls it periodically; tests call it directly.
func (b *sqlBase) Sweep(ctx context.Context) (int, error) {
	return sweep(ctx, b.db, b.now(), b.sweepBatch)
}

// Run sweeps every Deps.SweepInterval until ctx is done, then returns nil. A failed sweep is
// logged and retried at the next tick: a lagging sweeper never makes a seat unsellable, since
// holds and availability apply the implicit-status rule.
func (b *sqlBase) Run(ctx context.Context) error {
	t := time.NewTicker(b.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		// A full batch means more may be waiting: sweep again at once, a bounded number of
		// times per tick, so a backlog drains without starving the pool.
		for range 10 {
			n, err := b.Sweep(ctx)
			if err != nil {
				if ctx.Err() == nil {
					b.log.Warn("sweep expired holds", "strategy", b.name, "err", err)
				}
				break
			}
			if n > 0 {
				b.log.Debug("swept expired holds", "strategy", b.name, "holds", n)
			}
			if n < b.sweepBatch {
				break
			}
		}
	}
}

// seatRow is one seat as the strategies read it.
type seatRow struct {
	ID, Status, HoldID, BookingID string
	Expires                       *time.Time
	PriceCents                    int64
}

// ownedBy reports whether a confirm of hold may sell the seat: hold is its last holder (held,
// expired or not, or given back by release or sweep with nobody holding it since) and it is not
// sold. A seat another hold took after this one, live, expired or released, is not.
func (s seatRow) ownedBy(hold string) bool {
	return s.HoldID == hold && s.Status != SeatSold
}

// free reports whether the seat can be held at now: available, or held by an expired hold.
func (s seatRow) free(now time.Time) bool {
	return s.Status == SeatAvailable || (s.Status == SeatHeld && (s.Expires == nil || expired(*s.Expires, now)))
}

// readSeats reads the named seats of an event in seat order; forUpdate locks them, in that
// order, for the transaction (the fixed lock order that keeps pessimistic holds free of
// deadlocks). Seats that do not exist are simply absent from the answer.
func readSeats(ctx context.Context, q sqldb.Querier, eventID string, seats []string, forUpdate bool) ([]seatRow, error) {
	query := "SELECT seat_id, status, hold_id, booking_id, expires_at, price_cents FROM seats WHERE event_id = ? AND seat_id IN (" +
		inList(len(seats)) + ") ORDER BY seat_id"
	if forUpdate {
		query += " FOR UPDATE"
	}
	out := make([]seatRow, 0, len(seats))
	err := q.Query(ctx, query, func(rows sqldb.Rows) error {
		for rows.Next() {
			var s seatRow
			var hold, booking *string
			if err := rows.Scan(&s.ID, &s.Status, &hold, &booking, &s.Expires, &s.PriceCents); err != nil {
				return err
			}
			if hold != nil {
				s.HoldID = *hold
			}
			if booking != nil {
				s.BookingID = *booking
			}
			out = append(out, s)
		}
		return nil
	}, appendArgs([]any{eventID}, seats)...)
	if err != nil {
		return nil, fmt.Errorf("read seats: %w", err)
	}
	return out, nil
}

// checkFree returns the seats' total price when every requested seat exists and is free at
// now; ErrSeatNotFound / ErrEventNotFound for missing ones, *UnavailableError naming the busy
// ones otherwise.
func checkFree(ctx context.Context, q sqldb.Querier, eventID string, want []string, rows []seatRow, now time.Time) (int64, error) {
	if len(rows) < len(want) {
		found := make(map[string]bool, len(rows))
		for _, r := range rows {
			found[r.ID] = true
		}
		return 0, missingSeat(ctx, q, eventID, want, found)
	}
	var busy []string
	var total int64
	for _, r := range rows {
		if !r.free(now) {
			busy = append(busy, r.ID)
		}
		total += r.PriceCents
	}
	if len(busy) > 0 {
		return 0, &UnavailableError{Seats: busy}
	}
	return total, nil
}

// markSeatsHeld sets the seats held by h, without any condition (callers have checked or lock).
func markSeatsHeld(ctx context.Context, q sqldb.Querier, h Hold) error {
	args := appendArgs([]any{SeatHeld, h.ID, dbTime(h.Expires), h.EventID}, h.Seats)
	if _, err := q.Exec(ctx, "UPDATE seats SET status = ?, hold_id = ?, expires_at = ? WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+")", args...); err != nil {
		return fmt.Errorf("mark seats held: %w", err)
	}
	return nil
}

// markSeatsSold sets the seats sold to booking, without any condition.
func markSeatsSold(ctx context.Context, q sqldb.Querier, h Hold, bookingID string) error {
	args := appendArgs([]any{SeatSold, h.ID, bookingID, h.EventID}, h.Seats)
	if _, err := q.Exec(ctx, "UPDATE seats SET status = ?, hold_id = ?, booking_id = ?, expires_at = NULL WHERE event_id = ? AND seat_id IN ("+inList(len(h.Seats))+")", args...); err != nil {
		return fmt.Errorf("mark seats sold: %w", err)
	}
	return nil
}

// newHold is the hold a validated request becomes at now.
func newHold(r HoldRequest, now time.Time) Hold {
	return Hold{ID: newID("h_"), EventID: r.EventID, Session: r.Session, Seats: r.Seats, Tier: r.Tier, Quantity: r.Quantity,
		TTL: r.TTL, Expires: dbTime(now.Add(r.TTL)), Status: StatusHeld}
}

// bookingOf is the booking a hold becomes.
func bookingOf(h Hold, id string, c Charge, now time.Time) Booking {
	return Booking{ID: id, HoldID: h.ID, EventID: h.EventID, Session: h.Session, Seats: h.Seats, Tier: h.Tier,
		Quantity: h.Quantity, Units: h.Units, ChargeID: c.ID, AmountCents: h.AmountCents, Created: dbTime(now)}
}

// errAlreadySold ends a confirm transaction that found its hold sold; the caller answers with
// alreadySold after the rollback.
var errAlreadySold = errors.New("hold already sold")

// tierFree is how many units of a tier can be held at now by the implicit-status rule:
// capacity, minus sold, minus the units of unexpired holds.
func tierFree(ctx context.Context, q sqldb.Querier, eventID, tier string, now time.Time) (int64, error) {
	var capacity, sold, held int64
	err := q.QueryRow(ctx, "SELECT capacity, sold FROM ga_tiers WHERE event_id = ? AND tier = ?", []any{&capacity, &sold}, eventID, tier)
	if errors.Is(err, sqldb.ErrNoRows) {
		return 0, missingTier(ctx, q, eventID, tier)
	}
	if err != nil {
		return 0, fmt.Errorf("read tier %s: %w", tier, err)
	}
	err = q.QueryRow(ctx, "SELECT COALESCE(SUM(quantity), 0) FROM holds WHERE event_id = ? AND tier = ? AND status = ? AND expires_at > ?",
		[]any{&held}, eventID, tier, StatusHeld, now)
	if err != nil {
		return 0, fmt.Errorf("read holds of tier %s: %w", tier, err)
	}
	return capacity - sold - held, nil
}
