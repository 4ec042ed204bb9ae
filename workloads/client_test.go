package workloads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/history"
)

func TestClassify(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		status int
		code   string
		err    error
		sent   bool
		want   history.Type
	}{
		{"201 held", 201, "", nil, true, history.Ok},
		{"204 released", 204, "", nil, true, history.Ok},
		{"409 seat_unavailable", 409, "seat_unavailable", nil, true, history.Fail},
		{"409 hold_lost", 409, "hold_lost", nil, true, history.Fail},
		{"409 idempotency_in_progress", 409, "idempotency_in_progress", nil, true, history.Info},
		{"422 idempotency_conflict", 422, "idempotency_conflict", nil, true, history.Fail},
		{"403 not_admitted", 403, "not_admitted", nil, true, history.Fail},
		{"500 internal", 500, "internal", nil, true, history.Info},
		{"503 unavailable", 503, "unavailable", nil, true, history.Info},
		{"503 overloaded: shed", 503, "overloaded", nil, true, history.Shed},
		{"500 overloaded is no shedding", 500, "overloaded", nil, true, history.Info},
		{"302 unexpected", 302, "", nil, true, history.Info},
		{"2xx with a cut body", 201, "", boom, true, history.Info},
		{"error after sending", 0, "", boom, true, history.Info},
		{"error before sending", 0, "", boom, false, history.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.status, tt.code, tt.err, tt.sent); got != tt.want {
				t.Errorf("Classify(%d, %q, %v, %v) = %s, want %s", tt.status, tt.code, tt.err, tt.sent, got, tt.want)
			}
		})
	}
}

func testClient(tb testing.TB, base string, timeout time.Duration) *client {
	tb.Helper()
	tr := NewTransport(0)
	tb.Cleanup(tr.CloseIdleConnections)
	return &client{base: base, hc: &http.Client{Transport: tr}, timeout: timeout, clock: NewClock()}
}

// TestHoldOutcomesOverTheWire drives one hold against servers that answer, hang, reset the
// connection after reading the request, or are not there at all.
func TestHoldOutcomesOverTheWire(t *testing.T) {
	hang := make(chan struct{})
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		closed   bool // no server listening
		want     history.Type
		wantCode string
		status   int
	}{
		{"held", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(201)
			w.Write([]byte(`{"hold_id":"h1","event_id":"e","session":"s","seats":["A-1-1"],"expires_at":"2030-01-02T03:04:05.123456789Z","ttl_ms":3000}`))
		}, false, history.Ok, "", 201},
		{"seat taken", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(409)
			w.Write([]byte(`{"error":{"code":"seat_unavailable","message":"taken","seats":["A-1-1"]}}`))
		}, false, history.Fail, "seat_unavailable", 409},
		{"503", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			w.Write([]byte(`{"error":{"code":"unavailable","message":"later"}}`))
		}, false, history.Info, "unavailable", 503},
		{"ok without a hold id", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(201)
			w.Write([]byte(`{}`))
		}, false, history.Info, "", 201},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			// Read the body, so that the server notices the client going away.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-hang:
			}
		}, false, history.Info, "", 0},
		{"reset after the request was read", func(w http.ResponseWriter, r *http.Request) {
			_, _ = r.Body.Read(make([]byte, 1024))
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				panic(err)
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST instead of FIN
			}
			conn.Close()
		}, false, history.Info, "", 0},
		{"nothing listening", nil, true, history.Fail, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base string
			if tt.closed {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				base = "http://" + ln.Addr().String()
				ln.Close()
			} else {
				srv := httptest.NewServer(tt.handler)
				t.Cleanup(srv.Close)
				base = srv.URL
				if tt.name == "timeout" {
					// Runs before srv.Close: the handler must not outlive the test.
					t.Cleanup(func() { close(hang) })
				}
			}
			c := testClient(t, base, 300*time.Millisecond)
			rec, h := c.hold(context.Background(), &caller{index: 7, session: "s1"}, history.Input{Event: "e", Session: "s1", Seats: []string{"A-1-1"}})
			if err := rec.Validate(); err != nil {
				t.Fatalf("record invalid: %v", err)
			}
			if rec.Type != tt.want || rec.Out.Code != tt.wantCode || rec.Out.Status != tt.status {
				t.Fatalf("hold against %q = %s status %d code %q (%s), want %s status %d code %q",
					tt.name, rec.Type, rec.Out.Status, rec.Out.Code, rec.Out.Error, tt.want, tt.status, tt.wantCode)
			}
			if rec.Client != 7 || rec.Op != history.OpHold || rec.In.Event != "e" {
				t.Errorf("record %+v lost its client or input", rec)
			}
			switch tt.name {
			case "held":
				want := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC).UnixNano()
				if h.HoldID != "h1" || rec.Out.HoldID != "h1" || rec.Out.ExpiresAt != want || rec.Out.TTLMillis != 3000 || len(rec.Out.Seats) != 1 {
					t.Errorf("held record out = %+v, want hold h1 expiring at %d with ttl 3000", rec.Out, want)
				}
			case "seat taken":
				if len(rec.Out.Seats) != 1 || rec.Out.Seats[0] != "A-1-1" {
					t.Errorf("seat_unavailable record lists %v, want the taken seat", rec.Out.Seats)
				}
			case "timeout":
				if d := time.Duration(rec.Ret - rec.Call); d < 300*time.Millisecond {
					t.Errorf("timeout record lasted %s, less than the 300ms deadline", d)
				}
				if !strings.Contains(rec.Out.Error, "deadline") {
					t.Errorf("timeout record error %q does not say deadline", rec.Out.Error)
				}
			}
		})
	}
}

func TestFollowSSE(t *testing.T) {
	tests := []struct {
		name, stream, want string
		wantErr            bool
	}{
		{"admitted", "event: position\ndata: {\"position\":2}\n\n: comment\nevent: admitted\ndata: {\"admitted\":true,\"admission_token\":\"abc\"}\n\n", "abc", false},
		{"multi-line data", "event: admitted\ndata: {\"admitted\":true,\ndata: \"admission_token\":\"x\"}\n\n", "x", false},
		{"ends early", "event: position\ndata: {\"position\":1}\n\n", "", true},
		{"final error", "event: error\ndata: {\"error\":{\"code\":\"ticket_not_found\"}}\n\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := followSSE(strings.NewReader(tt.stream))
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("followSSE = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestBrowseAsksForGzip: a browse page asks for gzip as a browser would and is recorded ok
// with the body as it came, not inflated; other requests do not ask.
func TestBrowseAsksForGzip(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Method+" "+r.URL.Path] = r.Header.Get("Accept-Encoding")
		mu.Unlock()
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("\x1f\x8b not inflated by the driver"))
			return
		}
		w.WriteHeader(409)
		w.Write([]byte(`{"error":{"code":"seat_unavailable","message":"taken"}}`))
	}))
	t.Cleanup(srv.Close)
	c := testClient(t, srv.URL, time.Second)
	rec := c.page(context.Background(), &caller{index: 1, session: "s1"}, "e", Page{})
	if rec.Type != history.Ok {
		t.Fatalf("browse of a gzipped page: %s (%s), want ok", rec.Type, rec.Out.Error)
	}
	c.hold(context.Background(), &caller{index: 2, session: "s2"}, history.Input{Event: "e", Session: "s2", Seats: []string{"A-1-1"}})
	mu.Lock()
	defer mu.Unlock()
	if got := seen["GET /events/e/seats"]; got != "gzip" {
		t.Errorf("browse Accept-Encoding = %q, want gzip", got)
	}
	if got, ok := seen["POST /events/e/holds"]; !ok || got != "" {
		t.Errorf("hold Accept-Encoding = %q (sent %v), want none", got, ok)
	}
}

// TestJoinStopsAtFinalError: a stream whose last event is a final `error` (the server ended
// the ticket, as a waiting room that lost its Redis tells every fan at once) fails the join
// with the event's code, and the fan does not open the stream again; a stream that just ends,
// with no final event, is opened again.
func TestJoinStopsAtFinalError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		last      string
		wantOpens int64 // exactly, or at least for a stream cut short
		wantCode  string
	}{
		{"final error", "event: error\ndata: {\"error\":{\"code\":\"ticket_not_found\",\"message\":\"the waiting room was reset\"}}\n\n", 1, "ticket_not_found"},
		{"cut short", "", 2, codeNotAdmitted}, // opened again at least once
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opens atomic.Int64
			mux := http.NewServeMux()
			mux.HandleFunc("POST /events/{id}/queue", func(w http.ResponseWriter, r *http.Request) {
				stubJSON(w, 201, map[string]any{"ticket": "t1", "position": 1, "length": 1})
			})
			mux.HandleFunc("GET /queue/{ticket}/stream", func(w http.ResponseWriter, r *http.Request) {
				opens.Add(1)
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(200)
				fmt.Fprint(w, "retry: 2000\n\nevent: position\ndata: {\"position\":1}\n\n"+tc.last)
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			c := testClient(t, srv.URL, 5*time.Second)
			rec, token := c.join(context.Background(), &caller{index: 1, session: "s1"}, "e", 650*time.Millisecond)
			if token != "" || rec.Type != history.Fail || rec.Out.Code != tc.wantCode {
				t.Errorf("join = %s %q (token %q), want fail %s", rec.Type, rec.Out.Code, token, tc.wantCode)
			}
			if n := opens.Load(); n != tc.wantOpens && (tc.last != "" || n < tc.wantOpens) {
				t.Errorf("the stream was opened %d times, want %d", n, tc.wantOpens)
			}
		})
	}
}
