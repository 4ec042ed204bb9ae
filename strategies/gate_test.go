package strategies

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"stampede/internal/testsvc"
)

// bookSeat sells one seat of the small event through status-expiry (no payment) and returns
// the booking.
func bookSeat(tb testing.TB, ctx context.Context, st Strategy, event, seat string) Booking {
	tb.Helper()
	h, err := st.Hold(ctx, HoldRequest{EventID: event, Session: "s-" + seat, Seats: []string{seat}})
	if err != nil {
		tb.Fatalf("Hold(%s) = %v", seat, err)
	}
	b, err := st.Confirm(ctx, ConfirmRequest{HoldID: h.ID, Session: "s-" + seat})
	if err != nil {
		tb.Fatalf("Confirm(%s) = %v", h.ID, err)
	}
	return b
}

// TestStoreAdmitOnce scans one ticket at many gates at once, on real connections: exactly one
// scan is admitted, every other is ErrTicketUsed naming that first entry's gate and time; a
// cancelled booking's tickets are refused.
func TestStoreAdmitOnce(t *testing.T) {
	for _, dialect := range testsvc.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t, dialect, 16)
			store := NewStore(db, nil)
			spec := loadSpec(t, "event_small.json")
			if _, _, err := store.CreateEvent(ctx, spec); err != nil {
				t.Fatalf("CreateEvent = %v", err)
			}
			st, err := New("status-expiry", Deps{DB: db}, false)
			if err != nil {
				t.Fatalf("New(status-expiry) = %v", err)
			}
			b := bookSeat(t, ctx, st, spec.ID, "A-1-1")

			const gates = 12
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				admitted []Entry
				used     []*UsedError
				others   []error
			)
			start := make(chan struct{})
			for g := range gates {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					e, err := store.Admit(ctx, Entry{TicketID: "tk_once", EventID: spec.ID, BookingID: b.ID, Item: "A-1-1", Gate: fmt.Sprintf("gate-%d", g)})
					mu.Lock()
					defer mu.Unlock()
					var ue *UsedError
					switch {
					case err == nil:
						admitted = append(admitted, e)
					case errors.As(err, &ue) && errors.Is(err, ErrTicketUsed):
						used = append(used, ue)
					default:
						others = append(others, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(admitted) != 1 || len(used) != gates-1 || len(others) != 0 {
				t.Fatalf("%d concurrent Admits of one ticket: %d admitted, %d used, other errors %v; want 1, %d, none",
					gates, len(admitted), len(used), others, gates-1)
			}
			first := admitted[0]
			for _, ue := range used {
				if ue.First.Gate != first.Gate || !ue.First.AdmittedAt.Equal(first.AdmittedAt) {
					t.Fatalf("UsedError first entry = %s at %s, want %s at %s", ue.First.Gate, ue.First.AdmittedAt, first.Gate, first.AdmittedAt)
				}
			}
			entries, err := store.Entries(ctx, spec.ID)
			if err != nil || len(entries) != 1 || entries[0].Gate != first.Gate {
				t.Fatalf("Entries = %+v, %v; want the one entry at %s", entries, err, first.Gate)
			}

			// A cancelled booking admits nobody; cancelling again keeps the first reason.
			b2 := bookSeat(t, ctx, st, spec.ID, "A-1-2")
			if _, err := store.CancelBooking(ctx, b2.ID, "refunded"); err != nil {
				t.Fatalf("CancelBooking = %v", err)
			}
			if c, err := store.CancelBooking(ctx, b2.ID, "cancelled"); err != nil || c.Reason != "refunded" {
				t.Fatalf("CancelBooking again = %+v, %v; want the first reason refunded", c, err)
			}
			if _, err := store.Admit(ctx, Entry{TicketID: "tk_cancelled", EventID: spec.ID, BookingID: b2.ID, Item: "A-1-2", Gate: "gate-0"}); !errors.Is(err, ErrBookingCancelled) {
				t.Fatalf("Admit of a cancelled booking's ticket = %v, want ErrBookingCancelled", err)
			}
			if _, err := store.Admit(ctx, Entry{TicketID: "tk_nobooking", EventID: spec.ID, BookingID: "b_nope", Item: "A-1-3", Gate: "gate-0"}); !errors.Is(err, ErrBookingNotFound) {
				t.Fatalf("Admit of an unknown booking's ticket = %v, want ErrBookingNotFound", err)
			}
			if _, err := store.CancelBooking(ctx, "b_nope", "cancelled"); !errors.Is(err, ErrBookingNotFound) {
				t.Fatalf("CancelBooking(b_nope) = %v, want ErrBookingNotFound", err)
			}
			cs, err := store.Cancellations(ctx, spec.ID)
			if err != nil || len(cs) != 1 || cs[0].BookingID != b2.ID {
				t.Fatalf("Cancellations = %+v, %v; want %s", cs, err, b2.ID)
			}

			s1, err := store.TicketSeed(ctx)
			if err != nil || len(s1) != 32 {
				t.Fatalf("TicketSeed = %x, %v; want 32 bytes", s1, err)
			}
			s2, err := NewStore(db, nil).TicketSeed(ctx)
			if err != nil || string(s1) != string(s2) {
				t.Fatalf("TicketSeed from a second store = %x, %v; want the stored %x", s2, err, s1)
			}
		})
	}
}
