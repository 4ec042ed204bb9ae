package waitingroom

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"stampede/strategies"
)

// TestQueueFull: with at most 3 sessions waiting, 10 sessions joining at once get exactly 3
// places and 7 refusals, each 503 queue_full with Retry-After (a minute while admission is
// paused), counted on /metrics; a session already waiting still gets its ticket back; once one
// session is admitted, a place is free again.
func TestQueueFull(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	s := e.room(t, func(q *Room) { q.maxQueue = 3 })
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 0})

	const n = 10
	type answer struct {
		code                    int
		errCode, retry, message string
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := httptest.NewRequest("POST", "/events/ev/queue", nil)
			r.Header.Set("X-Session-Id", fmt.Sprintf("s%d", i))
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			var er wrErrorReply
			_ = json.Unmarshal(w.Body.Bytes(), &er)
			answers[i] = answer{code: w.Code, errCode: er.Error.Code, retry: w.Header().Get("Retry-After"), message: er.Error.Message}
		})
	}
	wg.Wait()
	var joined []string
	refused := 0
	for i, a := range answers {
		switch {
		case a.code == http.StatusCreated:
			joined = append(joined, fmt.Sprintf("s%d", i))
		case a.code == http.StatusServiceUnavailable && a.errCode == "queue_full" && a.retry == "60":
			refused++
			if !strings.Contains(a.message, "3 sessions waiting") {
				t.Errorf("queue_full message %q, want it to say 3 sessions wait", a.message)
			}
		default:
			t.Errorf("join s%d = %d %s (Retry-After %q), want 201 or 503 queue_full with Retry-After 60", i, a.code, a.errCode, a.retry)
		}
	}
	if len(joined) != 3 || refused != n-3 {
		t.Fatalf("%d joined %v and %d refused, want 3 joined and %d refused", len(joined), joined, refused, n-3)
	}
	if code, _ := wrJoin(t, s, "ev", joined[0]); code != http.StatusOK {
		t.Errorf("a waiting session joining again on a full queue = %d, want 200 with its ticket", code)
	}

	w := httptest.NewRecorder()
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if want := fmt.Sprintf(`stampede_waiting_room_joins_total{event="ev",result="full"} %d`, n-3); !strings.Contains(w.Body.String(), want) {
		t.Errorf("/metrics lacks %s", want)
	}

	// Admit one: a place frees up for one more session, and only one.
	if err := s.setRate(t.Context(), "ev", 1); err != nil {
		t.Fatal(err)
	}
	for admitted := 0; admitted == 0; {
		time.Sleep(100 * time.Millisecond) // let the budget fill to one session at 1/s
		st, err := s.admitEvent(t.Context(), "ev")
		if err != nil {
			t.Fatal(err)
		}
		admitted = len(st.Sessions)
		if admitted > 1 {
			t.Fatalf("admitted %d at 1/s from an empty budget, want 1", admitted)
		}
	}
	if code, _ := wrJoin(t, s, "ev", "late1"); code != http.StatusCreated {
		t.Errorf("join after an admission = %d, want 201", code)
	}
	if code, _ := wrJoin(t, s, "ev", "late2"); code != http.StatusServiceUnavailable {
		t.Errorf("second join after one admission = %d, want 503 queue_full", code)
	}
}

func TestQueueFullRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want time.Duration
	}{
		{0, time.Minute}, {0.001, time.Minute}, {0.1, 10 * time.Second}, {0.3, 4 * time.Second}, {1, time.Second}, {500, time.Second},
	} {
		if got := queueFullRetryAfter(tc.rate); got != tc.want {
			t.Errorf("queueFullRetryAfter(%g) = %s, want %s", tc.rate, got, tc.want)
		}
	}
}

// TestStreamsPerSession: with at most 3 streams a session, 3 streams opened at once by one
// session are all served and a 4th is refused 429 too_many_streams, while another session still
// gets its own; once the client closes one stream, the session may open one more, and only one.
// Both ways of streaming: a taken-over HTTP/1.1 connection, and the handler's own (HTTP/2).
func TestStreamsPerSession(t *testing.T) {
	t.Parallel()
	for _, http2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http2=%v", http2), func(t *testing.T) { testStreamsPerSession(t, http2) })
	}
}

func testStreamsPerSession(t *testing.T, http2 bool) {
	e := newTestEnv(t)
	s := e.room(t, func(q *Room) {
		q.maxStreams = 3
		q.streamTick = 10 * time.Millisecond
		q.heartbeat = 20 * time.Millisecond // a closed client is noticed at the next writes
	})
	e.event(t, "ev", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 0})
	hs := wrServe(t, s, http2)
	client := hs.Client()
	a := wrMustJoin(t, s, "ev", "a")
	b := wrMustJoin(t, s, "ev", "b")

	// Three streams of one session opened at once.
	resps := make([]*http.Response, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range resps {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", hs.URL+"/queue/"+a.Ticket+"/stream", nil)
			req.Header.Set("X-Session-Id", "a")
			resps[i], errs[i] = client.Do(req)
		})
	}
	wg.Wait()
	streams := make([]*wrSSE, 3)
	for i, resp := range resps {
		if errs[i] != nil {
			t.Fatalf("open stream %d: %v", i, errs[i])
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d of 3 = %d, want 200", i, resp.StatusCode)
		}
		streams[i] = wrReadSSE(resp)
		if ev := streams[i].next(t); ev.name != "position" {
			t.Fatalf("first event %+v, want position", ev)
		}
	}
	refusedStream := func(ticket, session string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+"/queue/"+ticket+"/stream", nil)
		req.Header.Set("X-Session-Id", session)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("open stream: %v", err)
		}
		defer resp.Body.Close()
		var er wrErrorReply
		if resp.StatusCode != http.StatusOK {
			_ = json.NewDecoder(resp.Body).Decode(&er)
		}
		return resp.StatusCode, er.Error.Code
	}
	if code, errCode := refusedStream(a.Ticket, "a"); code != http.StatusTooManyRequests || errCode != "too_many_streams" {
		t.Fatalf("4th stream of a session = %d %s, want 429 too_many_streams", code, errCode)
	}
	other := wrOpenStreamWith(t, client, hs.URL, b.Ticket, "b")
	if ev := other.next(t); ev.name != "position" {
		t.Fatalf("another session's stream: first event %+v, want position", ev)
	}

	streams[0].resp.Body.Close()
	open := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.streamsOf["a"]
	}
	for deadline := time.Now().Add(10 * time.Second); open() != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("session a has %d streams counted 10 s after a client closed one, want 2", open())
		}
	}
	again := wrOpenStreamWith(t, client, hs.URL, a.Ticket, "a")
	if ev := again.next(t); ev.name != "position" {
		t.Fatalf("stream after a close: first event %+v, want position", ev)
	}
	if code, errCode := refusedStream(a.Ticket, "a"); code != http.StatusTooManyRequests || errCode != "too_many_streams" {
		t.Fatalf("stream beyond the limit again = %d %s, want 429 too_many_streams", code, errCode)
	}

	// A shutdown ends every stream and gives back every place.
	s.CloseStreams()
	for deadline := time.Now().Add(10 * time.Second); open() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("session a has %d streams counted after a shutdown, want 0", open())
		}
	}
}
