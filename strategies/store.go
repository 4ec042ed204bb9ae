package strategies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"stampede/internal/sqldb"
)

// Store is the inventory every strategy shares: events with their seats and general-admission
// tiers, and the bookings. It validates and creates events, and answers the lookups the
// strategies and the server need. It is safe for concurrent use.
type Store struct {
	db  sqldb.DB
	now func() time.Time
	// beforeRead, when set, runs before every read of bookings with the id of the booking
	// read, "" for a read of many (the write-behind variant writes the bookings it has
	// answered but not yet written that the read could see).
	beforeRead func(ctx context.Context, id string) error
}

// readingBookings runs beforeRead, when set, for a read of booking id ("" for many).
func (s *Store) readingBookings(ctx context.Context, id string) error {
	if s.beforeRead == nil {
		return nil
	}
	return s.beforeRead(ctx, id)
}

// NewStore returns a Store over db (migrated with Migrate). now is the clock; nil means
// time.Now.
func NewStore(db sqldb.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// Limits of an event spec, as the booking contract states them.
const (
	maxRowsPerSection = 500
	maxSeatsPerRow    = 500
	maxTierQuantity   = 10_000_000
	// maxSeatsPerEvent bounds the seat rows one event may create (a protective limit of the
	// reference server, not of the contract).
	maxSeatsPerEvent = 1_000_000
	// seatBatch is how many seat rows one INSERT writes (6 parameters each, far below both
	// databases' 65,535-parameter limit).
	seatBatch = 2000
)

var (
	eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	sectionPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,8}$`)
	tierPattern    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
)

// ValidateEvent checks a spec as the contract's EventSpec states it and returns it normalised:
// default prices filled in, starts_at in UTC at microsecond precision, SeatCount and GACapacity
// computed. Errors are *FieldError (matching ErrInvalid) naming the field, e.g.
// "sections[2].rows: must be 1..500".
func ValidateEvent(e Event) (Event, error) {
	if !eventIDPattern.MatchString(e.ID) {
		return e, invalid("id", "must match %s", eventIDPattern)
	}
	if strings.TrimSpace(e.Name) == "" {
		return e, invalid("name", "required")
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{{"name", e.Name, 200}, {"performer", e.Performer, 200}, {"venue", e.Venue, 200}, {"city", e.City, 100}} {
		if !utf8.ValidString(f.value) {
			return e, invalid(f.name, "must be valid UTF-8")
		}
		if n := utf8.RuneCountInString(f.value); n > f.max {
			return e, invalid(f.name, "at most %d characters, got %d", f.max, n)
		}
	}
	if e.StartsAt != nil {
		t := dbTime(*e.StartsAt)
		e.StartsAt = &t
	}
	e.SeatCount, e.GACapacity = 0, 0
	sections := make([]Section, len(e.Sections))
	seen := map[string]bool{}
	for i, s := range e.Sections {
		field := "sections[" + strconv.Itoa(i) + "]"
		switch {
		case !sectionPattern.MatchString(s.Name):
			return e, invalid(field+".name", "must match %s", sectionPattern)
		case seen[s.Name]:
			return e, invalid(field+".name", "section %s is listed twice", s.Name)
		case s.Rows < 1 || s.Rows > maxRowsPerSection:
			return e, invalid(field+".rows", "must be 1..%d", maxRowsPerSection)
		case s.SeatsPerRow < 1 || s.SeatsPerRow > maxSeatsPerRow:
			return e, invalid(field+".seats_per_row", "must be 1..%d", maxSeatsPerRow)
		case s.PriceCents < 0:
			return e, invalid(field+".price_cents", "must be at least 1")
		}
		seen[s.Name] = true
		if s.PriceCents == 0 {
			s.PriceCents = DefaultPriceCents
		}
		sections[i] = s
		e.SeatCount += int64(s.Rows) * int64(s.SeatsPerRow)
	}
	if e.SeatCount > maxSeatsPerEvent {
		return e, invalid("sections", "at most %d seats per event, got %d", maxSeatsPerEvent, e.SeatCount)
	}
	tiers := make([]Tier, len(e.Tiers))
	seen = map[string]bool{}
	for i, t := range e.Tiers {
		field := "ga_tiers[" + strconv.Itoa(i) + "]"
		switch {
		case !tierPattern.MatchString(t.Name):
			return e, invalid(field+".name", "must match %s", tierPattern)
		case seen[t.Name]:
			return e, invalid(field+".name", "tier %s is listed twice", t.Name)
		case t.Quantity < 1 || t.Quantity > maxTierQuantity:
			return e, invalid(field+".quantity", "must be 1..%d", maxTierQuantity)
		case t.PriceCents < 0:
			return e, invalid(field+".price_cents", "must be at least 1")
		}
		seen[t.Name] = true
		if t.PriceCents == 0 {
			t.PriceCents = DefaultPriceCents
		}
		tiers[i] = t
		e.GACapacity += t.Quantity
	}
	if len(sections) == 0 {
		sections = nil
	}
	if len(tiers) == 0 {
		tiers = nil
	}
	e.Sections, e.Tiers = sections, tiers
	if w := e.WaitingRoom; w != nil {
		if math.IsNaN(w.AdmitPerSecond) || math.IsInf(w.AdmitPerSecond, 0) || w.AdmitPerSecond < 0 {
			return e, invalid("waiting_room.admit_per_second", "must be a number >= 0")
		}
		c := *w
		e.WaitingRoom = &c
	}
	return e, nil
}

// specJSON is the stored form of a normalised spec, compared byte for byte for idempotency.
func specJSON(e Event) (string, error) {
	e.SeatCount, e.GACapacity = 0, 0
	b, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode event spec: %w", err)
	}
	return string(b), nil
}

// CreateEvent validates e and creates the event with its seats (ids SECTION-ROW-NUMBER) and
// tiers in one transaction. It is idempotent on the id: the same spec again returns the stored
// event with created=false; a different spec is ErrEventExists. Invalid specs are *FieldError
// (ErrInvalid). It does not prepare strategy-specific structures (Preparer): the server calls
// PrepareEvent afterwards.
func (s *Store) CreateEvent(ctx context.Context, e Event) (Event, bool, error) {
	e, err := ValidateEvent(e)
	if err != nil {
		return Event{}, false, err
	}
	spec, err := specJSON(e)
	if err != nil {
		return Event{}, false, err
	}
	if existing, same, err := s.compareExisting(ctx, e.ID, spec); err != nil || existing {
		if err != nil {
			return Event{}, false, err
		}
		if !same {
			return Event{}, false, fmt.Errorf("event %s: %w", e.ID, ErrEventExists)
		}
		got, err := s.GetEvent(ctx, e.ID)
		return got, false, err
	}
	var starts *time.Time
	if e.StartsAt != nil {
		t := *e.StartsAt
		starts = &t
	}
	err = s.db.Tx(ctx, "admin", func(tx sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO events (id, name, performer, venue, city, starts_at, spec, seat_count, ga_capacity, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.Name, e.Performer, e.Venue, e.City, starts, spec, e.SeatCount, e.GACapacity, dbTime(s.now())); err != nil {
			return err
		}
		if err := insertSeats(ctx, tx, e); err != nil {
			return err
		}
		for _, t := range e.Tiers {
			if _, err := tx.Exec(ctx, "INSERT INTO ga_tiers (event_id, tier, capacity, price_cents, available, held, sold) VALUES (?, ?, ?, ?, ?, 0, 0)",
				e.ID, t.Name, t.Quantity, t.PriceCents, t.Quantity); err != nil {
				return fmt.Errorf("insert tier %s: %w", t.Name, err)
			}
		}
		return nil
	})
	if sqldb.UniqueViolation(err) {
		// Another request created the same id first: answer as if it had come before us.
		existing, same, cerr := s.compareExisting(ctx, e.ID, spec)
		switch {
		case cerr != nil:
			return Event{}, false, cerr
		case existing && same:
			got, err := s.GetEvent(ctx, e.ID)
			return got, false, err
		case existing:
			return Event{}, false, fmt.Errorf("event %s: %w", e.ID, ErrEventExists)
		}
	}
	if err != nil {
		return Event{}, false, fmt.Errorf("create event %s: %w", e.ID, err)
	}
	return e, true, nil
}

// compareExisting reports whether an event with id exists and whether its spec is spec.
func (s *Store) compareExisting(ctx context.Context, id, spec string) (exists, same bool, err error) {
	var stored string
	err = s.db.QueryRow(ctx, tagRead, "SELECT spec FROM events WHERE id = ?", []any{&stored}, id)
	if errors.Is(err, sqldb.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("read event %s: %w", id, err)
	}
	return true, stored == spec, nil
}

// insertSeats writes the event's seat rows, seatBatch rows per statement.
func insertSeats(ctx context.Context, tx sqldb.Querier, e Event) error {
	var args []any
	rows := 0
	flush := func() error {
		if rows == 0 {
			return nil
		}
		q := "INSERT INTO seats (event_id, seat_id, section, row_no, seat_no, price_cents) VALUES " +
			strings.Repeat("(?, ?, ?, ?, ?, ?), ", rows-1) + "(?, ?, ?, ?, ?, ?)"
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("insert seats: %w", err)
		}
		args, rows = args[:0], 0
		return nil
	}
	for _, sec := range e.Sections {
		for r := 1; r <= sec.Rows; r++ {
			for n := 1; n <= sec.SeatsPerRow; n++ {
				args = append(args, e.ID, SeatID(sec.Name, r, n), sec.Name, r, n, sec.PriceCents)
				rows++
				if rows == seatBatch {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
	}
	return flush()
}

// SeatID is the id of a reserved seat: SECTION-ROW-NUMBER, e.g. A-12-7.
func SeatID(section string, row, number int) string {
	return section + "-" + strconv.Itoa(row) + "-" + strconv.Itoa(number)
}

const eventColumns = "spec, seat_count, ga_capacity"

func scanEvent(rows interface{ Scan(...any) error }) (Event, error) {
	var spec string
	var e Event
	var seats, ga int64
	if err := rows.Scan(&spec, &seats, &ga); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(spec), &e); err != nil {
		return e, fmt.Errorf("decode stored spec: %w", err)
	}
	e.SeatCount, e.GACapacity = seats, ga
	return e, nil
}

// GetEvent returns an event as created (normalised), or ErrEventNotFound.
func (s *Store) GetEvent(ctx context.Context, id string) (Event, error) {
	var e Event
	found := false
	err := s.db.Query(ctx, tagRead, "SELECT "+eventColumns+" FROM events WHERE id = ?", func(rows sqldb.Rows) error {
		if !rows.Next() {
			return nil
		}
		var err error
		e, err = scanEvent(rows)
		found = err == nil
		return err
	}, id)
	if err != nil {
		return Event{}, fmt.Errorf("read event %s: %w", id, err)
	}
	if !found {
		return Event{}, fmt.Errorf("event %s: %w", id, ErrEventNotFound)
	}
	return e, nil
}

// ListEvents returns every event, ordered by id.
func (s *Store) ListEvents(ctx context.Context) ([]Event, error) {
	out := []Event{}
	err := s.db.Query(ctx, tagRead, "SELECT "+eventColumns+" FROM events ORDER BY id", func(rows sqldb.Rows) error {
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

const bookingColumns = "id, event_id, hold_id, session, seats, tier, quantity, units, charge_id, amount_cents, created_at"

func scanBooking(rows interface{ Scan(...any) error }) (Booking, error) {
	var b Booking
	var seats, units string
	if err := rows.Scan(&b.ID, &b.EventID, &b.HoldID, &b.Session, &seats, &b.Tier, &b.Quantity, &units,
		&b.ChargeID, &b.AmountCents, &b.Created); err != nil {
		return b, err
	}
	b.Seats, b.Units = decodeList(seats), decodeList(units)
	b.Created = b.Created.UTC()
	return b, nil
}

// Bookings returns every booking of an event, oldest first (ErrEventNotFound for an unknown
// event). It reads the bookings table, so it shows double bookings when a strategy makes them.
func (s *Store) Bookings(ctx context.Context, eventID string) ([]Booking, error) {
	if err := eventExists(ctx, sqldb.OnPool(s.db, tagRead), eventID); err != nil {
		return nil, err
	}
	if err := s.readingBookings(ctx, ""); err != nil {
		return nil, err
	}
	out := []Booking{}
	err := s.db.Query(ctx, tagRead, "SELECT "+bookingColumns+" FROM bookings WHERE event_id = ? ORDER BY created_at, id", func(rows sqldb.Rows) error {
		for rows.Next() {
			b, err := scanBooking(rows)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	}, eventID)
	if err != nil {
		return nil, fmt.Errorf("list bookings of %s: %w", eventID, err)
	}
	return out, nil
}

// GetBooking returns a booking, or ErrBookingNotFound.
func (s *Store) GetBooking(ctx context.Context, id string) (Booking, error) {
	if err := s.readingBookings(ctx, id); err != nil {
		return Booking{}, err
	}
	var b Booking
	found := false
	err := s.db.Query(ctx, tagRead, "SELECT "+bookingColumns+" FROM bookings WHERE id = ?", func(rows sqldb.Rows) error {
		if !rows.Next() {
			return nil
		}
		var err error
		b, err = scanBooking(rows)
		found = err == nil
		return err
	}, id)
	if err != nil {
		return Booking{}, fmt.Errorf("read booking %s: %w", id, err)
	}
	if !found {
		return Booking{}, fmt.Errorf("booking %s: %w", id, ErrBookingNotFound)
	}
	return b, nil
}

// SeatPrices returns the price of each seat and their total, through q (a transaction or
// sqldb.OnPool). A seat that does not exist is ErrSeatNotFound naming it; an unknown event is
// ErrEventNotFound.
func (s *Store) SeatPrices(ctx context.Context, q sqldb.Querier, eventID string, seats []string) (map[string]int64, int64, error) {
	prices := make(map[string]int64, len(seats))
	var total int64
	err := q.Query(ctx, "SELECT seat_id, price_cents FROM seats WHERE event_id = ? AND seat_id IN ("+inList(len(seats))+")",
		func(rows sqldb.Rows) error {
			for rows.Next() {
				var id string
				var p int64
				if err := rows.Scan(&id, &p); err != nil {
					return err
				}
				prices[id] = p
				total += p
			}
			return nil
		}, appendArgs([]any{eventID}, seats)...)
	if err != nil {
		return nil, 0, fmt.Errorf("read seat prices: %w", err)
	}
	if len(prices) < len(seats) {
		return nil, 0, missingSeat(ctx, q, eventID, seats, prices)
	}
	return prices, total, nil
}

// missingSeat is the error for a request naming seats that are not all in found: the event is
// unknown, or the first missing seat is.
func missingSeat[V any](ctx context.Context, q sqldb.Querier, eventID string, seats []string, found map[string]V) error {
	if err := eventExists(ctx, q, eventID); err != nil {
		return err
	}
	for _, id := range seats {
		if _, ok := found[id]; !ok {
			return fmt.Errorf("seat %s of event %s: %w", id, eventID, ErrSeatNotFound)
		}
	}
	return fmt.Errorf("seats of event %s: %w", eventID, ErrSeatNotFound)
}

// TierPrice returns a tier's unit price, through q. An unknown tier is ErrTierNotFound; an
// unknown event ErrEventNotFound.
func (s *Store) TierPrice(ctx context.Context, q sqldb.Querier, eventID, tier string) (int64, error) {
	var p int64
	err := q.QueryRow(ctx, "SELECT price_cents FROM ga_tiers WHERE event_id = ? AND tier = ?", []any{&p}, eventID, tier)
	if errors.Is(err, sqldb.ErrNoRows) {
		return 0, missingTier(ctx, q, eventID, tier)
	}
	if err != nil {
		return 0, fmt.Errorf("read tier %s: %w", tier, err)
	}
	return p, nil
}

// missingTier is the error for a tier that does not exist: ErrEventNotFound or ErrTierNotFound.
func missingTier(ctx context.Context, q sqldb.Querier, eventID, tier string) error {
	if err := eventExists(ctx, q, eventID); err != nil {
		return err
	}
	return fmt.Errorf("tier %s of event %s: %w", tier, eventID, ErrTierNotFound)
}
