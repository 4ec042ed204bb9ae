package external_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"stampede/chaos"
	"stampede/sut"
	"stampede/sut/external"
)

// bookingSystem is a booking system that is not ours: it answers the ledger of any event.
func bookingSystem(t *testing.T) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/ledger" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"event_id":"` + r.URL.Query().Get("event") + `","bookings":[]}`))
	}))
	t.Cleanup(hs.Close)
	return hs
}

// TestExternalSystem: the processor runs where the system was told to pay, the ledgers are read
// from both, and every fault that needs a handle the system lacks says which.
func TestExternalSystem(t *testing.T) {
	hs := bookingSystem(t)
	ctx := context.Background()
	sys := external.New(hs.URL, "127.0.0.1:0", external.WithPSPSeed(7))
	if err := sys.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = sys.Stop(ctx) })
	if sys.URL() != hs.URL || !strings.HasPrefix(sys.PSP(), "http://127.0.0.1:") {
		t.Fatalf("URL %q, PSP %q; want the system's URL and a processor on loopback", sys.URL(), sys.PSP())
	}
	if err := sys.Settle(ctx); err != nil {
		t.Errorf("Settle: %v", err)
	}
	l, err := sys.Ledgers(ctx, []string{"ev-1"})
	if err != nil {
		t.Fatalf("Ledgers: %v", err)
	}
	if len(l.Server) != 1 || l.Server[0].EventID != "ev-1" || l.PSP == nil || len(l.PSP.Charges) != 0 {
		t.Errorf("Ledgers = %+v, want ev-1's ledger and the processor's, empty", l)
	}

	h := sys.Handles()
	if h.PSP != sys.PSP() || h.Server != "" || h.ServerProcess != nil || h.DB != "" || h.Redis != nil || h.RedisURL != "" || h.Proxies != nil {
		t.Fatalf("Handles = %+v, want the processor only", h)
	}
	target := &chaos.Target{Handles: h}
	missing := map[string]string{
		"redis-restart":   "does not own the Redis process",
		"redis-pause":     "does not own the Redis process",
		"redis-flush":     "no Redis URL",
		"pool-exhaustion": "no reference server admin endpoint",
		"db-conn-kill":    "no database DSN",
		"net-latency":     `no network proxy in front of "db"`,
		"net-partition":   `no network proxy in front of "db"`,
		"net-reset":       `no network proxy in front of "db"`,
		"server-crash":    "did not start the server",
	}
	for _, spec := range chaos.Specs() {
		t.Run(spec.Name, func(t *testing.T) {
			f, _, err := chaos.Lookup(spec.Name)
			if err != nil {
				t.Fatal(err)
			}
			p := chaos.Params{}
			for _, d := range spec.Params {
				p[d.Name] = d.Default
			}
			rec, err := f.Inject(ctx, target, p)
			want, lacks := missing[spec.Name]
			if !lacks {
				if err != nil {
					t.Fatalf("Inject: %v, want the processor to take it", err)
				}
				if rec != nil {
					if err := rec(ctx); err != nil {
						t.Errorf("recover: %v", err)
					}
				}
				return
			}
			if !errors.Is(err, sut.ErrUnsupported) || !strings.Contains(err.Error(), want) {
				t.Errorf("Inject = %v, want ErrUnsupported saying %q", err, want)
			}
		})
	}
}
