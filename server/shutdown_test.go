package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/checker"
	"stampede/internal/testsvc"
	"stampede/server/payments"
)

// TestGracefulShutdown: the server is told to stop (SIGTERM cancels Serve's context) while
// checkouts are in flight, each waiting on a slow payment. Serve stops accepting, lets every
// one of them finish within --shutdown-timeout and returns nil (exit 0); no checkout is lost:
// every client got its booking, and the ledger (read from a server started again on the same
// database) and the processor's ledger agree with the answers, one booking and one charge per
// checkout, no refund.
func TestGracefulShutdown(t *testing.T) {
	const buyers = 8
	psp := payments.New(payments.WithSeed(1))
	if err := psp.SetFaults(payments.Faults{LatencyMS: 2500}); err != nil {
		t.Fatal(err)
	}
	var charges atomic.Int64 // charge requests that reached the processor
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/charges" {
			charges.Add(1)
		}
		psp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { psp.Close(); ps.Close() })
	dsn := testsvc.PG(t)
	o := Options{Addr: "127.0.0.1:0", Strategy: "status-expiry", DB: dsn, PSP: ps.URL, ShutdownGrace: 20 * time.Second}
	base, stop := startServe(t, o)

	spec, _ := json.Marshal(testEventSpec("drain-ev"))
	if code, body := httpDo(t, http.MethodPost, base+"/admin/events", "", string(spec)); code != http.StatusCreated {
		t.Fatalf("POST /admin/events = %d %s", code, body)
	}
	holds := make([]string, buyers)
	for i := range holds {
		code, body := httpDo(t, http.MethodPost, base+"/events/drain-ev/holds", fmt.Sprintf("b%d", i), fmt.Sprintf(`{"seats":["A-%d-%d"]}`, 1+i/5, 1+i%5))
		var h holdView
		if code != http.StatusCreated || json.Unmarshal([]byte(body), &h) != nil {
			t.Fatalf("hold %d = %d %s", i, code, body)
		}
		holds[i] = h.HoldID
	}

	type answer struct {
		code    int
		booking string
		err     error
	}
	answers := make([]answer, buyers)
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, base+"/holds/"+holds[i]+"/checkout", strings.NewReader(`{"payment_method":"card_ok"}`))
			req.Header.Set("X-Session-Id", fmt.Sprintf("b%d", i))
			req.Header.Set("Idempotency-Key", fmt.Sprintf("drain-key-%d", i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answers[i].err = err
				return
			}
			defer resp.Body.Close()
			var b struct {
				BookingID string `json:"booking_id"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&b)
			answers[i] = answer{code: resp.StatusCode, booking: b.BookingID}
		})
	}
	// Every checkout is in flight: its payment reached the processor, which is slowing it.
	deadline := time.Now().Add(30 * time.Second)
	for charges.Load() < buyers {
		if time.Now().After(deadline) {
			wg.Wait()
			t.Fatalf("%d of %d charges reached the processor; answers %+v", charges.Load(), buyers, answers)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve after SIGTERM = %v, want nil (exit 0)", err)
	}
	wg.Wait()
	// Once Serve has returned, nothing answers any more.
	if resp, err := http.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("GET /healthz after shutdown = %d, want the connection refused", resp.StatusCode)
	}
	var booked []string
	for i, a := range answers {
		if a.err != nil || a.code != http.StatusCreated || a.booking == "" {
			t.Errorf("checkout %d in flight at shutdown = %d %q %v, want 201 with a booking", i, a.code, a.booking, a.err)
		}
		booked = append(booked, a.booking)
	}

	// The ledger, from the server started again on the same database, agrees with the answers.
	base, stop = startServe(t, o)
	defer func() { _ = stop() }()
	var l checker.Ledger
	code, body := httpDo(t, http.MethodGet, base+"/admin/ledger?event=drain-ev", "", "")
	if code != http.StatusOK || json.Unmarshal([]byte(body), &l) != nil {
		t.Fatalf("GET /admin/ledger = %d %s", code, body)
	}
	var inLedger []string
	for _, b := range l.Bookings {
		inLedger = append(inLedger, b.BookingID)
	}
	slices.Sort(booked)
	slices.Sort(inLedger)
	if !slices.Equal(booked, inLedger) || len(l.Refunds) != 0 {
		t.Errorf("ledger bookings %v, refunds %d; want exactly the answered bookings %v and no refund", inLedger, len(l.Refunds), booked)
	}
	if pl := psp.Ledger(); len(pl.Charges) != buyers || len(pl.Refunds) != 0 {
		t.Errorf("processor ledger: %d charges, %d refunds; want %d charges and no refund", len(pl.Charges), len(pl.Refunds), buyers)
	}
}
