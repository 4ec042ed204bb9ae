package strategies

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
)

// openDB gives the test a fresh, migrated database of the dialect, closed at cleanup.
func openDB(tb testing.TB, dialect string, maxConns int) sqldb.DB {
	tb.Helper()
	return testsvc.MigratedDB(tb, dialect, sqldb.Options{MaxConns: maxConns}, Migrate)
}

// loadSpec reads an event spec fixture from testdata.
func loadSpec(tb testing.TB, name string) Event {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatalf("read fixture: %v", err)
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		tb.Fatalf("decode fixture %s: %v", name, err)
	}
	return e
}

func TestStoreCreateEvent(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t, dialect, 8)
			store := NewStore(db, nil)
			spec := loadSpec(t, "event_small.json")

			got, created, err := store.CreateEvent(ctx, spec)
			if err != nil || !created {
				t.Fatalf("CreateEvent = created %v, %v; want created", created, err)
			}
			if got.SeatCount != 2*3*4+1*1*5 || got.GACapacity != 150 {
				t.Fatalf("CreateEvent counts = %d seats, %d GA; want 29 and 150", got.SeatCount, got.GACapacity)
			}
			if got.Sections[1].PriceCents != DefaultPriceCents || got.Tiers[0].PriceCents != 9900 {
				t.Fatalf("prices = %d, %d; want the default 5000 and the given 9900", got.Sections[1].PriceCents, got.Tiers[0].PriceCents)
			}

			again, created, err := store.CreateEvent(ctx, spec)
			if err != nil || created {
				t.Fatalf("CreateEvent again = created %v, %v; want not created, no error", created, err)
			}
			if again.SeatCount != got.SeatCount || again.Name != spec.Name || again.StartsAt == nil || !again.StartsAt.Equal(*got.StartsAt) || got.StartsAt.Nanosecond() != 123456000 {
				t.Fatalf("CreateEvent again returned %+v, want the stored event %+v", again, got)
			}
			// Spelling the default price explicitly is the same spec.
			explicit := spec
			explicit.Sections = append([]Section(nil), spec.Sections...)
			explicit.Sections[1].PriceCents = DefaultPriceCents
			if _, created, err := store.CreateEvent(ctx, explicit); err != nil || created {
				t.Fatalf("CreateEvent with explicit default price = created %v, %v; want the same event", created, err)
			}

			changed := spec
			changed.Tiers = []Tier{{Name: "floor", Quantity: 151, PriceCents: 9900}}
			if _, _, err := store.CreateEvent(ctx, changed); !errors.Is(err, ErrEventExists) {
				t.Fatalf("CreateEvent with a different spec = %v, want ErrEventExists", err)
			}

			a, err := availability(ctx, db, spec.ID, time.Now())
			if err != nil {
				t.Fatalf("availability: %v", err)
			}
			if len(a.Seats) != 29 || len(a.Tiers) != 1 || a.Tiers[0].Available != 150 {
				t.Fatalf("availability = %d seats, tiers %+v; want 29 seats and floor 150 available", len(a.Seats), a.Tiers)
			}
			ids := map[string]bool{}
			for _, s := range a.Seats {
				if s.Status != SeatAvailable {
					t.Fatalf("seat %s status %s, want available", s.ID, s.Status)
				}
				ids[s.ID] = true
			}
			for _, id := range []string{"A-1-1", "A-3-4", "B2-2-4", "VIP-1-5"} {
				if !ids[id] {
					t.Fatalf("seat %s missing from %v", id, ids)
				}
			}

			prices, total, err := store.SeatPrices(ctx, sqldb.OnPool(db, tagRead), spec.ID, []string{"A-1-1", "VIP-1-5"})
			if err != nil || total != 7500+12000 || prices["VIP-1-5"] != 12000 {
				t.Fatalf("SeatPrices = %v, %d, %v; want A 7500 + VIP 12000", prices, total, err)
			}
			if _, _, err := store.SeatPrices(ctx, sqldb.OnPool(db, tagRead), spec.ID, []string{"A-1-1", "Z-9-9"}); !errors.Is(err, ErrSeatNotFound) || !strings.Contains(err.Error(), "Z-9-9") {
				t.Fatalf("SeatPrices with an unknown seat = %v, want ErrSeatNotFound naming Z-9-9", err)
			}
			if _, _, err := store.SeatPrices(ctx, sqldb.OnPool(db, tagRead), "nope", []string{"A-1-1"}); !errors.Is(err, ErrEventNotFound) {
				t.Fatalf("SeatPrices of an unknown event = %v, want ErrEventNotFound", err)
			}
			if p, err := store.TierPrice(ctx, sqldb.OnPool(db, tagRead), spec.ID, "floor"); err != nil || p != 9900 {
				t.Fatalf("TierPrice = %d, %v; want 9900", p, err)
			}
			if _, err := store.TierPrice(ctx, sqldb.OnPool(db, tagRead), spec.ID, "balcony"); !errors.Is(err, ErrTierNotFound) {
				t.Fatalf("TierPrice of an unknown tier = %v, want ErrTierNotFound", err)
			}

			if _, err := store.GetEvent(ctx, "nope"); !errors.Is(err, ErrEventNotFound) {
				t.Fatalf("GetEvent(nope) = %v, want ErrEventNotFound", err)
			}
			list, err := store.ListEvents(ctx)
			if err != nil || len(list) != 1 || list[0].ID != spec.ID {
				t.Fatalf("ListEvents = %v, %v; want [%s]", list, err, spec.ID)
			}
			if bs, err := store.Bookings(ctx, spec.ID); err != nil || len(bs) != 0 {
				t.Fatalf("Bookings = %v, %v; want none", bs, err)
			}
			if _, err := store.Bookings(ctx, "nope"); !errors.Is(err, ErrEventNotFound) {
				t.Fatalf("Bookings(nope) = %v, want ErrEventNotFound", err)
			}
			if _, err := store.GetBooking(ctx, "b_nope"); !errors.Is(err, ErrBookingNotFound) {
				t.Fatalf("GetBooking(b_nope) = %v, want ErrBookingNotFound", err)
			}
		})
	}
}

// TestStoreCreateEventConcurrent creates the same event from several goroutines at once:
// exactly one creates it, the others get it back, and a different spec racing them conflicts.
func TestStoreCreateEventConcurrent(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t, dialect, 8)
			store := NewStore(db, nil)
			spec := loadSpec(t, "event_small.json")
			const n = 8
			var wg sync.WaitGroup
			results := make([]bool, n)
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, results[i], errs[i] = store.CreateEvent(ctx, spec)
				}()
			}
			wg.Wait()
			created := 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("CreateEvent #%d: %v", i, errs[i])
				}
				if results[i] {
					created++
				}
			}
			if created != 1 {
				t.Fatalf("%d goroutines created the event, want exactly 1", created)
			}
			var seats int
			if err := db.QueryRow(ctx, "test", "SELECT COUNT(*) FROM seats WHERE event_id = ?", []any{&seats}, spec.ID); err != nil || seats != 29 {
				t.Fatalf("seat rows = %d, %v; want 29", seats, err)
			}
		})
	}
}

// TestStoreLargeEvent creates a 20x30x40 seat map (24,000 seats) in batches.
func TestStoreLargeEvent(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t, dialect, 4)
			store := NewStore(db, nil)
			e := Event{ID: "big", Name: "Big"}
			for _, s := range "ABCDEFGHIJKLMNOPQRST" {
				e.Sections = append(e.Sections, Section{Name: string(s), Rows: 30, SeatsPerRow: 40})
			}
			got, created, err := store.CreateEvent(ctx, e)
			if err != nil || !created || got.SeatCount != 24000 {
				t.Fatalf("CreateEvent = %d seats, created %v, %v; want 24000 created", got.SeatCount, created, err)
			}
			var n int
			if err := db.QueryRow(ctx, "test", "SELECT COUNT(*) FROM seats WHERE event_id = ?", []any{&n}, e.ID); err != nil || n != 24000 {
				t.Fatalf("seat rows = %d, %v; want 24000", n, err)
			}
		})
	}
}

func TestValidateEvent(t *testing.T) {
	base := func() Event {
		return Event{ID: "ev-1", Name: "Show",
			Sections: []Section{{Name: "A", Rows: 2, SeatsPerRow: 2}, {Name: "B", Rows: 1, SeatsPerRow: 1}, {Name: "C", Rows: 1, SeatsPerRow: 1}},
			Tiers:    []Tier{{Name: "floor", Quantity: 10}}}
	}
	tests := []struct {
		name   string
		change func(e *Event)
		field  string
		msg    string
	}{
		{"empty id", func(e *Event) { e.ID = "" }, "id", "must match"},
		{"id with slash", func(e *Event) { e.ID = "a/b" }, "id", "must match"},
		{"id too long", func(e *Event) { e.ID = strings.Repeat("x", 65) }, "id", "must match"},
		{"no name", func(e *Event) { e.Name = " " }, "name", "required"},
		{"name too long", func(e *Event) { e.Name = strings.Repeat("n", 201) }, "name", "at most 200"},
		{"city too long", func(e *Event) { e.City = strings.Repeat("c", 101) }, "city", "at most 100"},
		{"venue not utf-8", func(e *Event) { e.Venue = "\xff" }, "venue", "UTF-8"},
		{"section name pattern", func(e *Event) { e.Sections[1].Name = "B-1" }, "sections[1].name", "must match"},
		{"section name too long", func(e *Event) { e.Sections[0].Name = "ABCDEFGHI" }, "sections[0].name", "must match"},
		{"duplicate section", func(e *Event) { e.Sections[2].Name = "A" }, "sections[2].name", "listed twice"},
		{"rows zero", func(e *Event) { e.Sections[2].Rows = 0 }, "sections[2].rows", "must be 1..500"},
		{"rows too many", func(e *Event) { e.Sections[2].Rows = 501 }, "sections[2].rows", "must be 1..500"},
		{"seats per row", func(e *Event) { e.Sections[1].SeatsPerRow = 501 }, "sections[1].seats_per_row", "must be 1..500"},
		{"negative price", func(e *Event) { e.Sections[0].PriceCents = -1 }, "sections[0].price_cents", "at least 1"},
		{"too many seats", func(e *Event) {
			for i := range 5 {
				e.Sections = append(e.Sections, Section{Name: "X" + string(rune('a'+i)), Rows: 500, SeatsPerRow: 500})
			}
		}, "sections", "at most 1000000 seats"},
		{"tier name", func(e *Event) { e.Tiers[0].Name = "floor level" }, "ga_tiers[0].name", "must match"},
		{"duplicate tier", func(e *Event) { e.Tiers = append(e.Tiers, Tier{Name: "floor", Quantity: 1}) }, "ga_tiers[1].name", "listed twice"},
		{"tier quantity zero", func(e *Event) { e.Tiers[0].Quantity = 0 }, "ga_tiers[0].quantity", "must be 1..10000000"},
		{"tier quantity too big", func(e *Event) { e.Tiers[0].Quantity = 10_000_001 }, "ga_tiers[0].quantity", "must be 1..10000000"},
		{"tier negative price", func(e *Event) { e.Tiers[0].PriceCents = -5 }, "ga_tiers[0].price_cents", "at least 1"},
		{"negative admit rate", func(e *Event) { e.WaitingRoom = &WaitingRoom{Enabled: true, AdmitPerSecond: -1} }, "waiting_room.admit_per_second", ">= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base()
			tt.change(&e)
			_, err := ValidateEvent(e)
			var fe *FieldError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) {
				t.Fatalf("ValidateEvent = %v, want a FieldError matching ErrInvalid", err)
			}
			if fe.Field != tt.field || !strings.Contains(fe.Msg, tt.msg) || !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Fatalf("ValidateEvent = %q (field %q), want field %q with %q", err, fe.Field, tt.field, tt.msg)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		e, err := ValidateEvent(base())
		if err != nil {
			t.Fatalf("ValidateEvent(valid) = %v", err)
		}
		if e.SeatCount != 6 || e.GACapacity != 10 || e.Tiers[0].PriceCents != DefaultPriceCents {
			t.Fatalf("ValidateEvent(valid) = %+v, want 6 seats, 10 GA at the default price", e)
		}
	})
}

// TestStoreCreateEventInvalid checks that an invalid spec writes nothing.
func TestStoreCreateEventInvalid(t *testing.T) {
	db := openDB(t, "postgres", 2)
	store := NewStore(db, nil)
	_, _, err := store.CreateEvent(context.Background(), Event{ID: "x", Name: "X", Sections: []Section{{Name: "A", Rows: 0, SeatsPerRow: 1}}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("CreateEvent(invalid) = %v, want ErrInvalid", err)
	}
	if _, err := store.GetEvent(context.Background(), "x"); !errors.Is(err, ErrEventNotFound) {
		t.Fatalf("GetEvent after an invalid create = %v, want ErrEventNotFound", err)
	}
}
