package server

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The waiting room as the server serves it: its own behaviour is tested in server/waitingroom;
// these tests check the server's wiring of it (routes, middleware, holds).

// queueAnswer is the part of api.yaml's QueueStatus these tests read.
type queueAnswer struct {
	Ticket         string `json:"ticket"`
	Position       int64  `json:"position"`
	Admitted       bool   `json:"admitted"`
	AdmissionToken string `json:"admission_token"`
}

// createWaitingRoomEvent creates a test event whose waiting room admits rate sessions a second.
func (e *testEnv) createWaitingRoomEvent(rate float64) string {
	e.tb.Helper()
	id := "ev-wr-" + randomID()
	spec := testEventSpec(id)
	spec["waiting_room"] = map[string]any{"enabled": true, "admit_per_second": rate}
	e.must(http.StatusCreated, http.MethodPost, "/admin/events", "", spec)
	return id
}

// admit has session join eventID's queue and waits (for the admitter e.run started) until it is
// admitted; it returns the admission token.
func (e *testEnv) admit(eventID, session string) string {
	e.tb.Helper()
	var st queueAnswer
	e.must(http.StatusCreated, http.MethodPost, "/events/"+eventID+"/queue", session, nil).decode(e.tb, &st)
	for deadline := time.Now().Add(10 * time.Second); !st.Admitted; {
		if time.Now().After(deadline) {
			e.tb.Fatalf("%s not admitted to %s within 10 s: %+v", session, eventID, st)
		}
		time.Sleep(10 * time.Millisecond) // polling the outcome of the background admitter
		e.must(http.StatusOK, http.MethodGet, "/queue/"+st.Ticket, session, nil).decode(e.tb, &st)
	}
	if st.AdmissionToken == "" {
		e.tb.Fatalf("%s admitted to %s without a token: %+v", session, eventID, st)
	}
	return st.AdmissionToken
}

// TestQueueStreamThroughServer: over HTTP/1.1 the server's middleware hands the stream's
// connection to the waiting room (which answers Connection: close and writes the events itself)
// and a session at the head of a paused queue gets its position.
func TestQueueStreamThroughServer(t *testing.T) {
	t.Parallel()
	tdb := newTestDB(t, "postgres")
	e := newEnv(t, "status-expiry", tdb)
	ev := e.createWaitingRoomEvent(0)
	var st queueAnswer
	e.must(http.StatusCreated, http.MethodPost, "/events/"+ev+"/queue", "alice", nil).decode(t, &st)

	req, err := http.NewRequest(http.MethodGet, e.url+"/queue/"+st.Ticket+"/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Session-Id", "alice")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 1 || !resp.Close || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream = %d HTTP/%d close=%v %q, want 200 HTTP/1 text/event-stream on a connection the room took over",
			resp.StatusCode, resp.ProtoMajor, resp.Close, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	var event, data string
	for sc.Scan() && data == "" {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
		}
	}
	if event != "position" || !strings.Contains(data, `"position":1`) {
		t.Fatalf("first stream event %q %s, want position 1", event, data)
	}
}
