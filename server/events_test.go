package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"stampede/server/api"
	"stampede/server/seatmap"
	"stampede/strategies"
)

func TestCreateEvent(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "postgres")
	e := newEnv(t, "pessimistic", tdb)
	id := "ev-" + randomID()

	var ev strategies.Event
	e.must(http.StatusCreated, http.MethodPost, "/admin/events", "", testEventSpec(id)).decode(t, &ev)
	if ev.ID != id || ev.SeatCount != 12 || ev.GACapacity != 23 || ev.Sections[0].PriceCents != strategies.DefaultPriceCents {
		t.Fatalf("created event = %+v, want id %s, 12 seats, GA capacity 23, default price filled in", ev, id)
	}
	if ev.StartsAt == nil || !ev.StartsAt.Equal(time.Date(2026, 7, 1, 19, 30, 0, 0, time.UTC)) {
		t.Errorf("starts_at = %v, want 2026-07-01T19:30:00Z", ev.StartsAt)
	}
	// The same spec again: 200 with the same event.
	var again strategies.Event
	e.must(http.StatusOK, http.MethodPost, "/admin/events", "", testEventSpec(id)).decode(t, &again)
	if again.ID != id || again.SeatCount != 12 {
		t.Errorf("second create = %+v, want the same event", again)
	}
	other := testEventSpec(id)
	other["name"] = "Another Night"
	e.wantError(http.StatusConflict, "event_exists", "", http.MethodPost, "/admin/events", "", other)

	tests := []struct {
		name   string
		body   any
		status int
		field  string
		msg    string
		code   string // empty: invalid_request
	}{
		{name: "bad JSON", body: `{"id": "x",`, status: 400, msg: "malformed"},
		{name: "empty body", body: ``, status: 400, msg: "empty"},
		{name: "not an object", body: `["x"]`, status: 400, msg: "want a JSON object"},
		{name: "rows wrong type", body: `{"id":"ev-t1","name":"n","sections":[{"name":"A","rows":"2","seats_per_row":5}]}`, status: 400, field: "sections.rows", msg: "want integer"},
		{name: "quantity fraction", body: `{"id":"ev-t1","name":"n","ga_tiers":[{"name":"f","quantity":1.5}]}`, status: 400, field: "ga_tiers.quantity", msg: "want integer"},
		{name: "name wrong type", body: `{"id":"ev-t1","name":7}`, status: 400, field: "name", msg: "want string"},
		{name: "missing id", body: `{"name":"n"}`, status: 400, field: "id"},
		{name: "bad id", body: `{"id":"a b","name":"n"}`, status: 400, field: "id"},
		{name: "missing name", body: `{"id":"ev-t1"}`, status: 400, field: "name"},
		{name: "rows out of range", body: `{"id":"ev-t1","name":"n","sections":[{"name":"A","rows":501,"seats_per_row":5}]}`, status: 400, field: "sections[0].rows"},
		{name: "duplicate section", body: `{"id":"ev-t1","name":"n","sections":[{"name":"A","rows":1,"seats_per_row":1},{"name":"A","rows":1,"seats_per_row":1}]}`, status: 400, field: "sections[1].name"},
		{name: "tier quantity zero", body: `{"id":"ev-t1","name":"n","ga_tiers":[{"name":"f","quantity":0}]}`, status: 400, field: "ga_tiers[0].quantity"},
		{name: "bad starts_at", body: `{"id":"ev-t1","name":"n","starts_at":"tomorrow"}`, status: 400, field: "starts_at", msg: "RFC 3339"},
		{name: "negative admit rate", body: `{"id":"ev-t1","name":"n","waiting_room":{"enabled":true,"admit_per_second":-1}}`, status: 400, field: "waiting_room.admit_per_second"},
		{name: "oversized", body: `{"id":"ev-t1","name":"` + strings.Repeat("n", api.MaxBodyBytes) + `"}`, status: 413, code: "body_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).call(http.MethodPost, "/admin/events", "", tc.body)
			eb := r.errBody(t)
			code := tc.code
			if code == "" {
				code = "invalid_request"
			}
			if r.status != tc.status || eb.Error.Code != code || eb.Error.Field != tc.field || !strings.Contains(eb.Error.Message, tc.msg) {
				t.Errorf("POST /admin/events %s = %d %+v, want %d invalid_request field %q message containing %q", tc.name, r.status, eb.Error, tc.status, tc.field, tc.msg)
			}
		})
	}
	// None of the refused specs left an event behind.
	e.wantError(http.StatusNotFound, "event_not_found", "", http.MethodGet, "/events/ev-t1", "", nil)
}

func TestGetEvents(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "mysql")
	e := newEnv(t, "status-expiry", tdb)
	a, b := e.createEvent(), e.createEvent()

	var list eventList
	e.must(http.StatusOK, http.MethodGet, "/events", "", nil).decode(t, &list)
	got := map[string]strategies.Event{}
	for _, ev := range list.Events {
		got[ev.ID] = ev
	}
	if len(list.Events) != 2 || got[a].SeatCount != 12 || got[b].GACapacity != 23 {
		t.Fatalf("GET /events = %+v, want events %s and %s with their counts", list.Events, a, b)
	}
	// An event created after the list was read shows in the next list.
	c := e.createEvent()
	e.must(http.StatusOK, http.MethodGet, "/events", "", nil).decode(t, &list)
	if len(list.Events) != 3 {
		t.Errorf("GET /events after creating %s = %d events, want 3", c, len(list.Events))
	}

	var ev strategies.Event
	e.must(http.StatusOK, http.MethodGet, "/events/"+a, "", nil).decode(t, &ev)
	if ev.ID != a || ev.Name != "Test Night" || ev.City != "Berlin" || len(ev.Sections) != 2 || len(ev.Tiers) != 2 {
		t.Errorf("GET /events/%s = %+v, want the created spec", a, ev)
	}
	e.wantError(http.StatusNotFound, "event_not_found", "", http.MethodGet, "/events/nope", "", nil)
	e.wantError(http.StatusBadRequest, "invalid_request", "event_id", http.MethodGet, "/events/"+strings.Repeat("x", 65), "", nil)
}

func TestSeats(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "postgres")
	e := newEnv(t, "status-expiry", tdb)
	id := e.createEvent()
	e.holdSeats(id, "s1", "A-1-1", "A-1-2")
	e.must(http.StatusCreated, http.MethodPost, "/events/"+id+"/holds", "s2", map[string]any{"tier": "floor", "quantity": 3})

	var a seatmap.Map
	r := e.must(http.StatusOK, http.MethodGet, "/events/"+id+"/seats", "", nil)
	r.decode(t, &a)
	if a.EventID != id || len(a.Seats) != 12 {
		t.Fatalf("seats = %+v, want 12 seats of %s", a, id)
	}
	if _, err := time.Parse(time.RFC3339Nano, a.AsOf); err != nil {
		t.Errorf("as_of %q: %v", a.AsOf, err)
	}
	status := map[string]string{}
	for _, s := range a.Seats {
		status[s.ID] = s.Status
		if s.ID == "B-1-1" && s.PriceCents != 7000 {
			t.Errorf("B-1-1 price = %d, want 7000", s.PriceCents)
		}
	}
	if status["A-1-1"] != "held" || status["A-1-2"] != "held" || status["A-1-3"] != "available" {
		t.Errorf("statuses = %v, want A-1-1 and A-1-2 held, A-1-3 available", status)
	}
	if strings.Contains(string(r.body), "hold_id") {
		t.Errorf("seat map %s shows hold ids to buyers", r.body)
	}
	tiers := map[string]strategies.TierState{}
	for _, tv := range a.Tiers {
		tiers[tv.Name] = tv
	}
	if f := tiers["floor"]; f.Capacity != 20 || f.Held != 3 || f.Available != 17 || f.Sold != 0 {
		t.Errorf("floor = %+v, want capacity 20, held 3, available 17", f)
	}

	// The implicit-status rule: once the holds expired the seats are available again.
	e.clock.Advance(testHoldTTL + time.Second)
	e.must(http.StatusOK, http.MethodGet, "/events/"+id+"/seats", "", nil).decode(t, &a)
	for _, s := range a.Seats {
		if s.Status != "available" {
			t.Errorf("after expiry %s is %s, want available", s.ID, s.Status)
		}
	}
	e.wantError(http.StatusNotFound, "event_not_found", "", http.MethodGet, "/events/nope/seats", "", nil)
}
