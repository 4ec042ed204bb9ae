package server

import (
	"maps"
	"net/http"
	"testing"
	"time"

	"stampede/server/seatmap"
)

// TestSeatMapSnapshot, through the whole server on a real database: reads within the freshness
// share one snapshot (as_of and bytes), a hold shows in the seat map only once the freshness
// has passed, the ETag gives 304, ?section= narrows the map, and the compact form describes
// the same seats as the full one.
func TestSeatMapSnapshot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dialect, strategy string }{
		{"postgres", "status-expiry"},
		{"mysql", "redis-lock"}, // availability with the holds from Redis
	} {
		t.Run(tc.strategy+"-"+tc.dialect, func(t *testing.T) {
			t.Parallel()
			tdb := newTestDB(t, tc.dialect)
			const freshness = 30 * time.Second
			e := newEnv(t, tc.strategy, tdb, withHoldTTL(10*time.Minute), withSeatMapFreshness(freshness))
			id := e.createEvent()
			path := "/events/" + id + "/seats"

			var before, after seatmap.Map
			r1 := e.must(http.StatusOK, http.MethodGet, path, "", nil)
			r1.decode(t, &before)
			e.holdSeats(id, "s1", "A-1-1")
			r2 := e.must(http.StatusOK, http.MethodGet, path, "", nil)
			r2.decode(t, &after)
			if before.AsOf != after.AsOf || string(r1.body) != string(r2.body) {
				t.Errorf("two reads within the freshness: as_of %s and %s, same bytes %v; want one snapshot", before.AsOf, after.AsOf, string(r1.body) == string(r2.body))
			}
			if st := seatStatus(after.Seats, "A-1-1"); st != "available" {
				t.Errorf("A-1-1 read within the freshness of a snapshot taken before its hold = %s, want available", st)
			}

			etag := r2.header.Get("ETag")
			if r := e.callWith(map[string]string{"If-None-Match": etag}, http.MethodGet, path, "", nil); r.status != http.StatusNotModified || len(r.body) != 0 {
				t.Errorf("If-None-Match %s = %d with %d bytes, want 304 without a body", etag, r.status, len(r.body))
			}

			// The compact form and a section of the same snapshot.
			var c seatmap.Compact
			rc := e.must(http.StatusOK, http.MethodGet, path+"?format=compact", "", nil)
			rc.decode(t, &c)
			seats, err := c.Expand()
			if err != nil {
				t.Fatalf("expand the compact form %s: %v", rc.body, err)
			}
			if got, want := seatsByID(seats), seatsByID(after.Seats); c.AsOf != after.AsOf || !maps.Equal(got, want) {
				t.Errorf("compact form (as_of %s) = %v, want the full form's seats (as_of %s) %v", c.AsOf, got, after.AsOf, want)
			}
			if len(c.Sections) != 2 || c.Sections[0].Name != "A" || c.Sections[1].Name != "B" || len(c.Tiers) != 2 {
				t.Errorf("compact form sections %+v tiers %+v, want A and B and both tiers", c.Sections, c.Tiers)
			}
			var b seatmap.Map
			e.must(http.StatusOK, http.MethodGet, path+"?section=B", "", nil).decode(t, &b)
			if len(b.Seats) != 2 || b.Seats[0].ID != "B-1-1" || b.Seats[0].PriceCents != 7000 || len(b.Tiers) != 0 || b.AsOf != after.AsOf {
				t.Errorf("section B = %+v, want its 2 seats at 7000 without tiers, as of %s", b, after.AsOf)
			}
			e.wantError(http.StatusNotFound, "section_not_found", "section", http.MethodGet, path+"?section=Z", "", nil)
			e.wantError(http.StatusBadRequest, "invalid_request", "section", http.MethodGet, path+"?section=A-1", "", nil)
			e.wantError(http.StatusBadRequest, "invalid_request", "format", http.MethodGet, path+"?format=xml", "", nil)
			e.wantError(http.StatusNotFound, "event_not_found", "", http.MethodGet, "/events/nope/seats?format=compact", "", nil)

			// Once the freshness has passed, the next read is a new snapshot with the hold.
			e.clock.Advance(freshness)
			var later seatmap.Map
			r3 := e.callWith(map[string]string{"If-None-Match": etag}, http.MethodGet, path, "", nil)
			if r3.status != http.StatusOK {
				t.Fatalf("read after the freshness with the old ETag = %d, want 200", r3.status)
			}
			r3.decode(t, &later)
			t0, _ := time.Parse(time.RFC3339Nano, after.AsOf)
			t1, err := time.Parse(time.RFC3339Nano, later.AsOf)
			if err != nil || !t1.After(t0.Add(freshness-time.Second)) {
				t.Errorf("as_of after the freshness = %s (%v), want a read at least %s after %s", later.AsOf, err, freshness, after.AsOf)
			}
			if st := seatStatus(later.Seats, "A-1-1"); st != "held" || r3.header.Get("ETag") == etag {
				t.Errorf("after the freshness A-1-1 = %s with ETag %s (was %s), want held under a new ETag", st, r3.header.Get("ETag"), etag)
			}
			e.wantMetrics(`stampede_seatmap_reads_total{result="hit"}`, `stampede_seatmap_not_modified_total 1`)
		})
	}
}

func seatStatus(seats []seatmap.Seat, id string) string {
	for _, s := range seats {
		if s.ID == id {
			return s.Status
		}
	}
	return ""
}

func seatsByID(seats []seatmap.Seat) map[string]seatmap.Seat {
	out := make(map[string]seatmap.Seat, len(seats))
	for _, s := range seats {
		out[s.ID] = s
	}
	return out
}
