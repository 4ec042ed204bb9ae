package server

import (
	"net/http"
	"strings"
	"testing"

	"stampede/server/api"
)

// TestLimits: each bound the server sets on a request is configurable and refused with its own
// code: seats per hold (400 too_many_seats), request headers (431 headers_too_large), the
// body (413 body_too_large), sessions waiting in a queue (503 queue_full with Retry-After) and
// streams per session (429 too_many_streams); a request within the bounds goes through. (The
// waiting room's own tests cover its two bounds under concurrency.)
func TestLimits(t *testing.T) {
	e := newEnv(t, "status-expiry", newTestDB(t, "postgres"), withConfig(func(c *Config) {
		c.MaxSeatsPerHold, c.MaxHeaderBytes, c.MaxQueueLength, c.MaxStreamsPerSession = 2, 2048, 1, 1
	}))
	wr := e.createWaitingRoomEvent(0)
	var st queueAnswer
	e.must(http.StatusCreated, http.MethodPost, "/events/"+wr+"/queue", "q1", nil).decode(t, &st)
	if r := e.call(http.MethodPost, "/events/"+wr+"/queue", "q2", nil); r.status != http.StatusServiceUnavailable ||
		r.errBody(t).Error.Code != api.CodeQueueFull || r.header.Get("Retry-After") == "" {
		t.Errorf("second join of a queue of at most 1 = %d %s (Retry-After %q), want 503 queue_full with Retry-After", r.status, r.body, r.header.Get("Retry-After"))
	}
	req, _ := http.NewRequest(http.MethodGet, e.url+"/queue/"+st.Ticket+"/stream", nil)
	req.Header.Set("X-Session-Id", "q1")
	resp, err := e.client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first stream = %v %v, want 200", resp, err)
	}
	defer resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 16)); err != nil { // the stream is registered once it has written
		t.Fatalf("read first stream: %v", err)
	}
	e.wantError(http.StatusTooManyRequests, api.CodeTooManyStreams, "", http.MethodGet, "/queue/"+st.Ticket+"/stream", "q1", nil)

	id := e.createEvent()
	path := "/events/" + id + "/holds"

	eb := e.wantError(http.StatusBadRequest, api.CodeTooManySeats, "seats", http.MethodPost, path, "s1", `{"seats":["A-1-1","A-1-2","A-1-3"]}`)
	if !strings.Contains(eb.Error.Message, "at most 2") {
		t.Errorf("too_many_seats message %q, want it to name the limit 2", eb.Error.Message)
	}
	e.must(http.StatusCreated, http.MethodPost, path, "s1", `{"seats":["A-1-1","A-1-2"]}`)

	r := e.callWith(map[string]string{"X-Padding": strings.Repeat("p", 2100)}, http.MethodGet, "/events/"+id, "", nil)
	if r.status != http.StatusRequestHeaderFieldsTooLarge || r.errBody(t).Error.Code != api.CodeHeadersTooLarge {
		t.Errorf("GET with 2 KiB of headers = %d %s, want 431 headers_too_large", r.status, r.body)
	}
	e.must(http.StatusOK, http.MethodGet, "/events/"+id, "", nil)

	e.wantError(http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge, "", http.MethodPost, path, "s2",
		`{"seats":["B-1-1"],"pad":"`+strings.Repeat("x", api.MaxBodyBytes)+`"}`)
	e.wantError(http.StatusNotFound, api.CodeHoldNotFound, "", http.MethodGet, "/holds/none", "s2", nil) // nothing was held
}
