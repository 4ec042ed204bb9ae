package server

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fuzzAdminToken locks the admin endpoints of the fuzzed server: the fuzzer reaches them only
// to be refused (an armed crash failpoint would end the fuzzing, not find a bug).
const fuzzAdminToken = "fuzz-admin-token-0123456789"

// FuzzHandlers sends the real server (status-expiry on the shared PostgreSQL, its own Redis and payment processor)
// fuzzed requests: method, target (path and query), X-Session-Id, one more header line and a
// body, read by net/http's own request parser as a server reads them (a request it cannot
// parse is answered 400 by net/http before any handler, so it is skipped). In the target and
// the body EVENT stands for a fresh event with seats, WREVENT for one with a waiting room, and
// HOLD for a live hold of session "fuzz". Whatever the request, the server never answers 5xx
// and never panics. The seed corpus is testdata/fuzz/FuzzHandlers.
func FuzzHandlers(f *testing.F) {
	e := newEnv(f, "status-expiry", newTestDB(f, "postgres"), withPSP(), withConfig(func(c *Config) { c.AdminToken = fuzzAdminToken }))
	auth := map[string]string{"Authorization": "Bearer " + fuzzAdminToken}
	event, wrEvent := "ev-"+randomID(), "ev-wr-"+randomID()
	spec := testEventSpec(wrEvent)
	spec["waiting_room"] = map[string]any{"enabled": true, "admit_per_second": 0}
	for _, s := range []map[string]any{testEventSpec(event), spec} {
		if r := e.callWith(auth, http.MethodPost, "/admin/events", "", s); r.status != http.StatusCreated {
			f.Fatalf("create event %s: %d %s", s["id"], r.status, r.body)
		}
	}
	hold := e.holdSeats(event, "fuzz", "B-1-1")
	placeholders := strings.NewReplacer("WREVENT", wrEvent, "EVENT", event, "HOLD", hold.HoldID)

	f.Fuzz(func(t *testing.T, method, target, session, header string, body []byte) {
		var raw strings.Builder
		fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: stampede\r\n", method, placeholders.Replace(target))
		if session != "" {
			fmt.Fprintf(&raw, "X-Session-Id: %s\r\n", session)
		}
		if header != "" {
			fmt.Fprintf(&raw, "%s\r\n", header)
		}
		b := placeholders.Replace(string(body))
		fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n%s", len(b), b)
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw.String())))
		if err != nil {
			return // net/http answers it 400 itself
		}
		// A stream of a genuine ticket stays open: the deadline ends it (the fuzzer cannot forge
		// one, but a seed may hold one some day).
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req = req.WithContext(ctx)
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%q answered %d: %s", raw.String(), w.Code, w.Body.String())
		}
	})
}
