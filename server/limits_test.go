package server

import (
	"net/http"
	"strings"
	"testing"

	"stampede/server/api"
)

// TestLimits: each bound the server sets on a request is configurable and refused with its own
// code: seats per hold (400 too_many_seats), request headers (431 headers_too_large) and the
// body (413 body_too_large); a request within the bounds goes through.
func TestLimits(t *testing.T) {
	e := newEnv(t, "status-expiry", newTestDB(t, "postgres"), withConfig(func(c *Config) {
		c.MaxSeatsPerHold, c.MaxHeaderBytes = 2, 2048
	}))
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
