package workloads

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// contractStub is a small booking system on httptest that answers the parts of api.yaml the
// driver uses, with seat-level holds, so the flows can be driven end to end in tests. It is
// test scaffolding for the driver, not a model of a real booking system.
type contractStub struct {
	mu       sync.Mutex
	ttl      time.Duration
	seats    map[string]string // seat -> hold id holding or owning it
	sold     map[string]bool
	holds    map[string]stubHold
	keys     map[string]string // idempotency key -> booking id
	attempts map[string]int    // idempotency key -> attempts seen
	tokens   map[string]bool   // admission tokens given out
	events   []string
	n        int
	// flakyCheckouts makes the first attempt of every key answer 503.
	flakyCheckouts bool
	// requireToken refuses holds without an admission token (403 not_admitted).
	requireToken bool
	// The seat map: sectionCount sections (A, B, ...; default 1) of 2 rows of 10. knows names
	// the parameters the stub understands (section, format); one it does not know is ignored,
	// or refused with refuseStatus when that is set. asOf adds the map's as_of. seatQueries
	// keeps the query of every seat-map request.
	sectionCount int
	knows        map[string]bool
	refuseStatus int
	asOf         bool
	seatQueries  []string
	// shedHolds makes the first that many holds answer 503 overloaded, with Retry-After set to
	// retryAfter when it is not empty; holdCalls counts the holds that arrived.
	shedHolds  int
	retryAfter string
	holdCalls  int
}

type stubHold struct {
	id, session string
	seats       []string
	expires     time.Time
}

func newContractStub(tb testing.TB) (*contractStub, *httptest.Server) {
	tb.Helper()
	s := &contractStub{ttl: 5 * time.Second, seats: map[string]string{}, sold: map[string]bool{},
		holds: map[string]stubHold{}, keys: map[string]string{}, attempts: map[string]int{}, tokens: map[string]bool{}}
	srv := httptest.NewServer(s.mux())
	tb.Cleanup(srv.Close)
	return s, srv
}

func stubError(w http.ResponseWriter, status int, code string, extra map[string]any) {
	e := map[string]any{"code": code, "message": code}
	for k, v := range extra {
		e[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func stubJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *contractStub) mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST /admin/events", func(w http.ResponseWriter, r *http.Request) {
		var spec EventSpec
		if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
			stubError(w, 400, "invalid_request", nil)
			return
		}
		s.mu.Lock()
		s.events = append(s.events, spec.ID)
		s.mu.Unlock()
		stubJSON(w, 201, spec)
	})
	ok := func(w http.ResponseWriter, r *http.Request) { stubJSON(w, 200, map[string]any{"events": []any{}}) }
	m.HandleFunc("GET /events", ok)
	m.HandleFunc("GET /events/search", ok)
	m.HandleFunc("GET /events/{id}", ok)
	m.HandleFunc("GET /events/{id}/seats", func(w http.ResponseWriter, r *http.Request) {
		asOf := time.Now()
		s.mu.Lock()
		defer s.mu.Unlock()
		q := r.URL.Query()
		s.seatQueries = append(s.seatQueries, r.URL.RawQuery)
		for _, p := range []string{"section", "format"} {
			if q.Has(p) && !s.knows[p] && s.refuseStatus != 0 {
				stubError(w, s.refuseStatus, "invalid_request", map[string]any{"field": p})
				return
			}
		}
		only := ""
		if s.knows["section"] {
			only = q.Get("section")
		}
		type seat struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		type section struct {
			Name string   `json:"name"`
			Rows []string `json:"rows"`
		}
		var seats []seat
		var sections []section
		for sec := 0; sec < max(s.sectionCount, 1); sec++ {
			if only != "" && SectionName(sec) != only {
				continue
			}
			cs := section{Name: SectionName(sec)}
			for row := 1; row <= 2; row++ {
				var line []byte
				for n := 1; n <= 10; n++ {
					id := SeatID(sec, row, n)
					st := s.statusLocked(id)
					seats = append(seats, seat{id, st})
					line = append(line, st[0]) // a, h or s
				}
				cs.Rows = append(cs.Rows, string(line))
			}
			sections = append(sections, cs)
		}
		out := map[string]any{"event_id": r.PathValue("id"), "seats": seats}
		if s.knows["format"] && q.Get("format") == "compact" {
			out = map[string]any{"event_id": r.PathValue("id"), "format": "compact", "sections": sections}
		}
		if s.asOf {
			out["as_of"] = asOf.UTC().Format(time.RFC3339Nano)
		}
		stubJSON(w, 200, out)
	})
	m.HandleFunc("POST /events/{id}/queue", func(w http.ResponseWriter, r *http.Request) {
		stubJSON(w, 201, map[string]any{"ticket": "t-" + r.Header.Get("X-Session-Id"), "position": 3, "length": 3})
	})
	m.HandleFunc("GET /queue/{ticket}/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		fl := w.(http.Flusher)
		for pos := 2; pos >= 1; pos-- {
			fmt.Fprintf(w, "event: position\ndata: {\"position\":%d,\"length\":3}\n\n", pos)
			fl.Flush()
			time.Sleep(5 * time.Millisecond)
		}
		token := "tok-" + r.PathValue("ticket")
		s.mu.Lock()
		s.tokens[token] = true
		s.mu.Unlock()
		fmt.Fprintf(w, ": admitted now\nevent: admitted\ndata: {\"position\":0,\"admitted\":true,\"admission_token\":%q}\n\n", token)
	})
	m.HandleFunc("POST /events/{id}/holds", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Seats    []string `json:"seats"`
			Tier     string   `json:"tier"`
			Quantity int      `json:"quantity"`
			Token    string   `json:"admission_token"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			stubError(w, 400, "invalid_request", nil)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.holdCalls++
		if s.holdCalls <= s.shedHolds {
			if s.retryAfter != "" {
				w.Header().Set("Retry-After", s.retryAfter)
			}
			stubError(w, 503, "overloaded", nil)
			return
		}
		if s.requireToken && !s.tokens[req.Token] {
			stubError(w, 403, "not_admitted", nil)
			return
		}
		var taken []string
		for _, id := range req.Seats {
			if s.statusLocked(id) != "available" {
				taken = append(taken, id)
			}
		}
		if len(taken) > 0 {
			stubError(w, 409, "seat_unavailable", map[string]any{"seats": taken})
			return
		}
		s.n++
		h := stubHold{id: fmt.Sprintf("h%d", s.n), session: r.Header.Get("X-Session-Id"), seats: req.Seats, expires: time.Now().Add(s.ttl)}
		s.holds[h.id] = h
		for _, id := range req.Seats {
			s.seats[id] = h.id
		}
		stubJSON(w, 201, map[string]any{"hold_id": h.id, "event_id": r.PathValue("id"), "session": h.session, "seats": h.seats,
			"tier": req.Tier, "quantity": req.Quantity, "expires_at": h.expires.UTC().Format(time.RFC3339Nano), "ttl_ms": s.ttl.Milliseconds()})
	})
	m.HandleFunc("DELETE /holds/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if h, ok := s.holds[r.PathValue("id")]; ok {
			for _, id := range h.seats {
				if s.seats[id] == h.id && !s.sold[id] {
					delete(s.seats, id)
				}
			}
			delete(s.holds, h.id)
		}
		w.WriteHeader(204)
	})
	m.HandleFunc("POST /holds/{id}/checkout", func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if len(key) < 8 {
			stubError(w, 400, "invalid_request", nil)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.attempts[key]++
		if b, ok := s.keys[key]; ok {
			w.Header().Set("Idempotent-Replayed", "true")
			stubJSON(w, 201, map[string]any{"booking_id": b, "hold_id": r.PathValue("id"), "charge_id": "c" + b})
			return
		}
		if s.flakyCheckouts && s.attempts[key] == 1 {
			stubError(w, 503, "unavailable", nil)
			return
		}
		h, ok := s.holds[r.PathValue("id")]
		if !ok {
			stubError(w, 409, "hold_expired", nil)
			return
		}
		for _, id := range h.seats {
			s.sold[id] = true
		}
		b := "b" + h.id
		s.keys[key] = b
		stubJSON(w, 201, map[string]any{"booking_id": b, "hold_id": h.id, "seats": h.seats, "charge_id": "c" + b, "amount_cents": 100})
	})
	return m
}

func (s *contractStub) statusLocked(id string) string {
	if s.sold[id] {
		return "sold"
	}
	if hid, ok := s.seats[id]; ok {
		if h, ok := s.holds[hid]; ok && time.Now().Before(h.expires) {
			return "held"
		}
	}
	return "available"
}

// attemptsOf returns how many checkouts arrived with key.
func (s *contractStub) attemptsOf(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[key]
}

// queries returns the query of every seat-map request so far.
func (s *contractStub) queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seatQueries...)
}

func (s *contractStub) createdEvents() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.events, ",")
}
