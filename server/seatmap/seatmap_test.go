package seatmap

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"stampede/internal/testsvc"
	"stampede/server/api"
	"stampede/strategies"
)

// source is a fake availability source: an event "ev" whose seats are set by the test, read
// with the test clock; calls counts the reads, and gate, when set, blocks each read until it
// is closed or sent to.
type source struct {
	clock *testsvc.Clock
	mu    sync.Mutex
	seats []strategies.SeatState
	tiers []strategies.TierState
	calls atomic.Int32
	gate  chan struct{}
	began chan struct{} // receives once per read when set
}

func (f *source) Availability(ctx context.Context, eventID string) (strategies.Availability, error) {
	asOf := f.clock.Now()
	f.calls.Add(1)
	if f.began != nil {
		f.began <- struct{}{}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return strategies.Availability{}, ctx.Err()
		}
	}
	if eventID != "ev" {
		return strategies.Availability{}, fmt.Errorf("read %s: %w", eventID, strategies.ErrEventNotFound)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return strategies.Availability{EventID: eventID, AsOf: asOf, Seats: slices.Clone(f.seats), Tiers: slices.Clone(f.tiers)}, nil
}

func (f *source) set(id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.seats {
		if f.seats[i].ID == id {
			f.seats[i].Status = status
		}
	}
}

// testSeats are section A (rows 1 and 2 of 3 seats, A-2-2 missing, ids in the database's
// order), section B (one row of 2 at another price) and a tier.
func newSource(clock *testsvc.Clock) *source {
	st := func(id, status string, price int64) strategies.SeatState {
		return strategies.SeatState{ID: id, Status: status, PriceCents: price, HoldID: "secret-" + id}
	}
	return &source{
		clock: clock,
		seats: []strategies.SeatState{
			st("A-1-1", "available", 5000), st("A-1-2", "held", 5000), st("A-1-3", "sold", 5000),
			st("A-2-1", "available", 5000), st("A-2-3", "held", 5000),
			st("B-1-1", "available", 7000), st("B-1-2", "available", 7000),
		},
		tiers: []strategies.TierState{{Name: "floor", Capacity: 20, Available: 17, Held: 3, PriceCents: 2500}},
	}
}

// newGatedSource is newSource whose reads each wait for the gate (a send, or its closing) and
// announce themselves on began first.
func newGatedSource(clock *testsvc.Clock) *source {
	src := newSource(clock)
	src.gate = make(chan struct{})
	src.began = make(chan struct{}, 2)
	return src
}

// testSnapshots builds Snapshots over src with freshness, routed as the server routes them.
func testSnapshots(tb testing.TB, src Source, clock *testsvc.Clock, freshness time.Duration) (*Snapshots, http.Handler) {
	tb.Helper()
	table := slices.Concat(api.Common, Errors, api.Unknown)
	s, err := New(Config{
		Deps:   api.Deps{Table: table, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Now: clock.Now},
		Source: src, Freshness: freshness,
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events/{event_id}/seats", s.Handle)
	return s, mux
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func get(h http.Handler, path string, header ...string) reply {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return reply{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func mustGet(tb testing.TB, h http.Handler, path string, v any) reply {
	tb.Helper()
	r := get(h, path)
	if r.status != http.StatusOK {
		tb.Fatalf("GET %s = %d %s, want 200", path, r.status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			tb.Fatalf("GET %s body %q: %v", path, r.body, err)
		}
	}
	return r
}

func count(tb testing.TB, s *Snapshots, result string) float64 {
	tb.Helper()
	var m dto.Metric
	if err := s.m.reads.WithLabelValues(result).Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestFreshness: reads within the freshness share one snapshot (same as_of, same bytes, one
// read of the source); a change shows only once the freshness has passed.
func TestFreshness(t *testing.T) {
	clock := &testsvc.Clock{}
	src := newSource(clock)
	s, h := testSnapshots(t, src, clock, time.Minute)

	var first, second Map
	r1 := mustGet(t, h, "/events/ev/seats", &first)
	src.set("A-1-1", "held")
	clock.Advance(59 * time.Second)
	r2 := mustGet(t, h, "/events/ev/seats", &second)
	if first.AsOf != second.AsOf || string(r1.body) != string(r2.body) || r1.header.Get("ETag") != r2.header.Get("ETag") {
		t.Errorf("two reads within the freshness: as_of %s and %s, same bytes %v, ETags %s and %s; want one snapshot",
			first.AsOf, second.AsOf, string(r1.body) == string(r2.body), r1.header.Get("ETag"), r2.header.Get("ETag"))
	}
	if second.Seats[0].Status != "available" {
		t.Errorf("A-1-1 within the freshness of a snapshot showing it available = %s, want available", second.Seats[0].Status)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("source read %d times for two reads within the freshness, want 1", n)
	}

	clock.Advance(time.Second)
	var third Map
	r3 := mustGet(t, h, "/events/ev/seats", &third)
	a1, _ := time.Parse(time.RFC3339Nano, first.AsOf)
	a3, err := time.Parse(time.RFC3339Nano, third.AsOf)
	if err != nil || !a3.After(a1.Add(59*time.Second)) {
		t.Errorf("as_of after the freshness = %s (%v), want a new read, after %s + 59 s", third.AsOf, err, first.AsOf)
	}
	if third.Seats[0].Status != "held" || r3.header.Get("ETag") == r1.header.Get("ETag") {
		t.Errorf("after the freshness A-1-1 = %s with ETag %s (was %s), want held under a new ETag", third.Seats[0].Status, r3.header.Get("ETag"), r1.header.Get("ETag"))
	}
	if hit, built := count(t, s, readHit), count(t, s, readBuilt); hit != 1 || built != 2 {
		t.Errorf("reads: hit %v built %v, want 1 and 2", hit, built)
	}
	if strings.Contains(string(r3.body), "secret-") {
		t.Errorf("seat map %s shows hold ids", r3.body)
	}
}

// TestLive: freshness 0 reads the source for every request.
func TestLive(t *testing.T) {
	clock := &testsvc.Clock{}
	src := newSource(clock)
	s, h := testSnapshots(t, src, clock, 0)
	mustGet(t, h, "/events/ev/seats", nil)
	src.set("B-1-1", "sold")
	var m Map
	mustGet(t, h, "/events/ev/seats?section=B", &m)
	if src.calls.Load() != 2 || m.Seats[0].Status != "sold" || count(t, s, readLive) != 2 {
		t.Errorf("live reads: %d source reads, B-1-1 %s, live %v; want 2 reads, sold, 2", src.calls.Load(), m.Seats[0].Status, count(t, s, readLive))
	}
}

// TestSingleflight: concurrent readers with no fresh snapshot share one read of the source.
func TestSingleflight(t *testing.T) {
	clock := &testsvc.Clock{}
	src := newGatedSource(clock)
	s, h := testSnapshots(t, src, clock, time.Minute)
	const readers = 20
	bodies := make(chan string, readers)
	for range readers {
		go func() { bodies <- string(get(h, "/events/ev/seats?format=compact").body) }()
	}
	<-src.began
	// Let the others pile up on the read in flight before it ends; any that come later find
	// its snapshot fresh. Either way the source is read once.
	time.Sleep(50 * time.Millisecond)
	close(src.gate)
	first := <-bodies
	for range readers - 1 {
		if b := <-bodies; b != first {
			t.Fatalf("concurrent readers got different snapshots:\n%s\n%s", first, b)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("%d concurrent readers read the source %d times, want 1", readers, n)
	}
	if built, shared := count(t, s, readBuilt), count(t, s, readCoalesced)+count(t, s, readHit); built != 1 || shared != readers-1 {
		t.Errorf("reads: built %v, coalesced or hit %v; want 1 and %d", built, shared, readers-1)
	}
}

// TestJoinedReadTooOld: a request that arrives while a read is running that began more than
// the freshness before it does not take that read's result: it reads again.
func TestJoinedReadTooOld(t *testing.T) {
	clock := &testsvc.Clock{}
	src := newGatedSource(clock)
	_, h := testSnapshots(t, src, clock, time.Second)
	firstDone := make(chan Map, 1)
	go func() {
		var m Map
		_ = json.Unmarshal(get(h, "/events/ev/seats").body, &m)
		firstDone <- m
	}()
	<-src.began
	clock.Advance(2 * time.Second)
	arrival := clock.Now()
	late := make(chan Map, 1)
	go func() {
		var m Map
		_ = json.Unmarshal(get(h, "/events/ev/seats").body, &m)
		late <- m
	}()
	time.Sleep(50 * time.Millisecond) // let the late request join the read in flight
	src.gate <- struct{}{}            // the first read ends
	var second Map
	select {
	case <-src.began: // the late request's own read
		src.gate <- struct{}{}
		second = <-late
	case second = <-late:
	}
	first := <-firstDone
	asOf, err := time.Parse(time.RFC3339Nano, second.AsOf)
	if err != nil || asOf.Before(arrival) || second.AsOf == first.AsOf {
		t.Errorf("request arriving %s during a read begun at %s got as_of %s (%v), want a read begun after it arrived", arrival.Format(time.RFC3339Nano), first.AsOf, second.AsOf, err)
	}
	if n := src.calls.Load(); n != 2 {
		t.Errorf("source read %d times, want 2", n)
	}
}

// TestSections: ?section= narrows the full and the compact form to one section without tiers;
// the compact form expands to the full form's seats.
func TestSections(t *testing.T) {
	clock := &testsvc.Clock{}
	src := newSource(clock)
	_, h := testSnapshots(t, src, clock, time.Minute)

	var full Map
	mustGet(t, h, "/events/ev/seats", &full)
	if len(full.Seats) != 7 || len(full.Tiers) != 1 || full.Tiers[0].Name != "floor" || full.Tiers[0].PriceCents != 2500 {
		t.Fatalf("full form = %+v, want 7 seats and the floor tier", full)
	}
	var a Map
	ra := mustGet(t, h, "/events/ev/seats?section=A&format=full", &a)
	if len(a.Seats) != 5 || a.Tiers == nil || len(a.Tiers) != 0 || a.AsOf != full.AsOf {
		t.Errorf("section A = %+v, want its 5 seats, an empty tier list and the snapshot's as_of %s", a, full.AsOf)
	}
	for _, st := range a.Seats {
		if !strings.HasPrefix(st.ID, "A-") {
			t.Errorf("section A lists %s", st.ID)
		}
	}
	if !strings.Contains(string(ra.body), `"ga_tiers":[]`) {
		t.Errorf("section A body %s, want ga_tiers as an empty list", ra.body)
	}

	var c Compact
	rc := mustGet(t, h, "/events/ev/seats?format=compact", &c)
	want := Compact{
		EventID: "ev", AsOf: full.AsOf, Format: "compact",
		Sections: []Section{{Name: "A", PriceCents: 5000, Rows: []string{"ahs", "a-h"}}, {Name: "B", PriceCents: 7000, Rows: []string{"aa"}}},
		Tiers:    full.Tiers,
	}
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("compact form = %+v, want %+v", c, want)
	}
	if len(rc.body) >= len(mustGet(t, h, "/events/ev/seats", nil).body) {
		t.Errorf("compact form is %d bytes, not smaller than the full form", len(rc.body))
	}
	expanded, err := c.Expand()
	if err != nil {
		t.Fatalf("Expand: %v", err)
	}
	if got, wantSeats := seatSet(expanded), seatSet(full.Seats); !maps.Equal(got, wantSeats) {
		t.Errorf("compact form expands to %v, want the full form's %v", got, wantSeats)
	}
	var cb Compact
	mustGet(t, h, "/events/ev/seats?format=compact&section=B", &cb)
	if len(cb.Sections) != 1 || cb.Sections[0].Name != "B" || len(cb.Tiers) != 0 {
		t.Errorf("compact section B = %+v, want B alone without tiers", cb)
	}
}

func seatSet(seats []Seat) map[string]Seat {
	out := map[string]Seat{}
	for _, s := range seats {
		out[s.ID] = s
	}
	return out
}

func TestMixedPrices(t *testing.T) {
	clock := &testsvc.Clock{}
	src := newSource(clock)
	src.seats[1].PriceCents = 9900
	_, h := testSnapshots(t, src, clock, time.Minute)
	var c Compact
	r := mustGet(t, h, "/events/ev/seats?format=compact&section=A", &c)
	if c.Sections[0].PriceCents != 0 || strings.Contains(string(r.body), "price_cents") {
		t.Errorf("compact section with two prices = %s, want no price_cents", r.body)
	}
}

func TestBadRequests(t *testing.T) {
	clock := &testsvc.Clock{}
	src := newSource(clock)
	_, h := testSnapshots(t, src, clock, time.Minute)
	tests := []struct {
		name, path   string
		status       int
		code, field  string
		msgSubstring string
	}{
		{name: "unknown section", path: "/events/ev/seats?section=Z", status: 404, code: "section_not_found", field: "section", msgSubstring: `no section "Z"`},
		{name: "malformed section", path: "/events/ev/seats?section=A-1", status: 400, code: "invalid_request", field: "section"},
		{name: "two sections", path: "/events/ev/seats?section=A&section=B", status: 400, code: "invalid_request", field: "section"},
		{name: "unknown format", path: "/events/ev/seats?format=xml", status: 400, code: "invalid_request", field: "format", msgSubstring: "full or compact"},
		{name: "unknown event", path: "/events/nope/seats", status: 404, code: "event_not_found"},
		{name: "bad event id", path: "/events/" + strings.Repeat("x", 65) + "/seats", status: 400, code: "invalid_request", field: "event_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := get(h, tc.path)
			var body struct{ Error api.Error }
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("GET %s body %q: %v", tc.path, r.body, err)
			}
			e := body.Error
			if r.status != tc.status || e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.msgSubstring) {
				t.Errorf("GET %s = %d %+v, want %d %s field %q message containing %q", tc.path, r.status, e, tc.status, tc.code, tc.field, tc.msgSubstring)
			}
		})
	}
}

// TestConditional: If-None-Match with the current ETag is 304 without a body; another ETag
// or a newer snapshot is 200.
func TestConditional(t *testing.T) {
	clock := &testsvc.Clock{}
	src := newSource(clock)
	s, h := testSnapshots(t, src, clock, time.Minute)
	r := mustGet(t, h, "/events/ev/seats?section=A", nil)
	etag := r.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || r.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q Cache-Control %q, want a quoted ETag and no-cache", etag, r.header.Get("Cache-Control"))
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		r := get(h, "/events/ev/seats?section=A", "If-None-Match", inm)
		if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s = %d (%d bytes, ETag %q), want 304 without a body, ETag %s", inm, r.status, len(r.body), r.header.Get("ETag"), etag)
		}
	}
	if r := get(h, "/events/ev/seats?section=B", "If-None-Match", etag); r.status != http.StatusOK {
		t.Errorf("section B with section A's ETag = %d, want 200", r.status)
	}
	clock.Advance(time.Minute)
	if r := get(h, "/events/ev/seats?section=A", "If-None-Match", etag); r.status != http.StatusOK || r.header.Get("ETag") == etag {
		t.Errorf("a newer snapshot with the old ETag = %d ETag %s, want 200 with a new ETag", r.status, r.header.Get("ETag"))
	}
	var m dto.Metric
	if err := s.m.notModified.Write(&m); err != nil || m.GetCounter().GetValue() != 4 {
		t.Errorf("stampede_seatmap_not_modified_total = %v (%v), want 4", m.GetCounter().GetValue(), err)
	}
}

func TestErrorsNotKept(t *testing.T) {
	clock := &testsvc.Clock{}
	calls := 0
	src := SourceFunc(func(context.Context, string) (strategies.Availability, error) {
		calls++
		if calls == 1 {
			return strategies.Availability{}, errors.New("database down")
		}
		return strategies.Availability{EventID: "ev", AsOf: clock.Now(), Seats: []strategies.SeatState{{ID: "A-1-1", Status: "available"}}}, nil
	})
	_, h := testSnapshots(t, src, clock, time.Minute)
	if r := get(h, "/events/ev/seats"); r.status != http.StatusInternalServerError {
		t.Errorf("a failed read = %d, want 500", r.status)
	}
	mustGet(t, h, "/events/ev/seats", nil)
	if calls != 2 {
		t.Errorf("source read %d times, want the failure not kept (2)", calls)
	}
}

func TestNewRefuses(t *testing.T) {
	deps := api.Deps{Table: Errors, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Now: time.Now}
	src := newSource(&testsvc.Clock{})
	for _, cfg := range []Config{{Deps: deps}, {Deps: deps, Source: src, Freshness: -time.Second}, {Source: src}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want one", cfg)
		}
	}
}

// TestGzip: a client that accepts gzip gets the same bytes compressed, under an ETag of their
// own; one that refuses it (q=0) or does not ask gets them as they are.
func TestGzip(t *testing.T) {
	clock := &testsvc.Clock{}
	src := newSource(clock)
	_, h := testSnapshots(t, src, clock, time.Minute)
	plain := mustGet(t, h, "/events/ev/seats", nil)
	for _, ae := range []string{"gzip", "deflate, GZIP;q=0.5", "br, gzip"} {
		r := get(h, "/events/ev/seats", "Accept-Encoding", ae)
		if r.status != http.StatusOK || r.header.Get("Content-Encoding") != "gzip" || r.header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("Accept-Encoding %q = %d Content-Encoding %q Vary %q, want 200 gzip varying on Accept-Encoding", ae, r.status, r.header.Get("Content-Encoding"), r.header.Get("Vary"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		body, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(body, plain.body) {
			t.Errorf("gzip body inflates to %d bytes (%v), want the %d plain bytes", len(body), err, len(plain.body))
		}
		etag := r.header.Get("ETag")
		if etag == plain.header.Get("ETag") || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
			t.Errorf("gzip ETag %s (plain %s), want a quoted ETag of its own", etag, plain.header.Get("ETag"))
		}
		if r := get(h, "/events/ev/seats", "Accept-Encoding", ae, "If-None-Match", etag); r.status != http.StatusNotModified {
			t.Errorf("If-None-Match with the gzip ETag = %d, want 304", r.status)
		}
	}
	for _, ae := range []string{"", "gzip;q=0", "identity", "deflate"} {
		r := get(h, "/events/ev/seats", "Accept-Encoding", ae)
		if r.header.Get("Content-Encoding") != "" || !bytes.Equal(r.body, plain.body) {
			t.Errorf("Accept-Encoding %q = Content-Encoding %q, %d bytes; want the plain %d bytes", ae, r.header.Get("Content-Encoding"), len(r.body), len(plain.body))
		}
	}
}

// FuzzParseView: no query string makes parameter reading panic or fail with anything but a
// 400 invalid_request; a section it accepts matches the contract's pattern.
func FuzzParseView(f *testing.F) {
	for _, q := range []string{"", "section=A", "format=compact&section=S10", "section=A-1", "section=A&section=B", "format=xml", "format=", "section="} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		v, err := parseView(q)
		if err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != api.CodeInvalidRequest || ae.Field == "" {
				t.Fatalf("parseView(%q) = %#v, want a 400 invalid_request naming its parameter", raw, err)
			}
			return
		}
		if v.section != "" && !sectionPattern.MatchString(v.section) {
			t.Fatalf("parseView(%q) accepted section %q", raw, v.section)
		}
	})
}

// FuzzExpand: any compact row expands without panicking to one seat a status character, or
// fails naming what it does not know.
func FuzzExpand(f *testing.F) {
	for _, row := range []string{"", "ahs", "a-h", "---", "x", "aa\x00"} {
		f.Add("A", row)
	}
	f.Fuzz(func(t *testing.T, name, row string) {
		c := Compact{Sections: []Section{{Name: name, Rows: []string{row, row}}}}
		seats, err := c.Expand()
		if err != nil {
			if !strings.Contains(err.Error(), "unknown status") {
				t.Fatalf("Expand(%q) = %v, want an unknown status", row, err)
			}
			return
		}
		if want := 2 * (len(row) - strings.Count(row, string(NoSeat))); len(seats) != want {
			t.Fatalf("Expand(%q) = %d seats, want %d", row, len(seats), want)
		}
	})
}

// TestLargeBodyFromFile: a full form past sendfileMin is sent from an in-memory file (on
// Linux), and every one of many concurrent clients over real connections gets all of it,
// byte for byte what a direct write gives, under the same ETag.
func TestLargeBodyFromFile(t *testing.T) {
	clock := &testsvc.Clock{}
	src := &source{clock: clock}
	for i := range 8000 {
		id := fmt.Sprintf("S%d-%d-%d", i/1000, i%1000/40+1, i%40+1)
		src.seats = append(src.seats, strategies.SeatState{ID: id, Status: "available", PriceCents: 5000})
	}
	s, h := testSnapshots(t, src, clock, time.Minute)
	want := mustGet(t, h, "/events/ev/seats", nil)
	if len(want.body) < sendfileMin {
		t.Fatalf("full form of %d bytes, want at least %d for this test", len(want.body), sendfileMin)
	}
	if f := s.snaps["ev"].answers[view{}].bodyFile(); f == nil && runtime.GOOS == "linux" {
		t.Fatal("no in-memory file for a full form past sendfileMin on Linux")
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	// Without Accept-Encoding: gzip, which Go's client otherwise sends (and inflates) itself.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				resp, err := client.Get(srv.URL + "/events/ev/seats")
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					errs <- err
				case resp.StatusCode != http.StatusOK || !bytes.Equal(body, want.body) || resp.Header.Get("ETag") != want.header.Get("ETag"):
					errs <- fmt.Errorf("GET = %d, %d bytes, ETag %s; want 200, the %d bytes of a direct write, ETag %s",
						resp.StatusCode, len(body), resp.Header.Get("ETag"), len(want.body), want.header.Get("ETag"))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
