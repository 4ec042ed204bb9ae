package workloads

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the driver's goroutines and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHeartbeat: without a terminal, the driver prints a whole progress line every heartbeat:
// the time left of the schedule (never negative), "draining" once every user has arrived,
// and refusals (the contract's business answers) apart from failures.
func TestHeartbeat(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(400 * time.Millisecond) // users are still running after the last arrival
		switch n.Add(1) % 3 {
		case 0:
			stubJSON(w, 200, map[string]any{"events": []any{}})
		case 1:
			stubError(w, 409, "sold_out", nil)
		default:
			stubError(w, 400, "invalid_request", nil)
		}
	}))
	defer srv.Close()
	var out syncBuffer
	d, err := New(Config{Scenario: browseScenario(t, "{profile: constant, rate: 20/s, users: 20}"), Target: srv.URL,
		Progress: &out, Heartbeat: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d.Printf("a runner's message")
	if _, err := d.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	text := out.String()
	if !strings.HasSuffix(text, "\n") {
		t.Errorf("progress output ends in a partial line: %q", text)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 5 || lines[0] != "a runner's message" {
		t.Fatalf("progress output:\n%s\nwant the runner's message, then a line every 100ms", text)
	}
	left := regexp.MustCompile(`^\d+s, (\d+(\.\d+)?m?s) left  users \d+/20  `)
	var sawLeft, sawDraining bool
	for _, l := range lines[1:] {
		switch {
		case left.MatchString(l):
			sawLeft = true
		case strings.Contains(l, ", draining "):
			sawDraining = true
		default:
			t.Errorf("progress line %q: want the time left or draining, then the users", l)
		}
		if regexp.MustCompile(`(^|[ /(])-\d`).MatchString(l) {
			t.Errorf("progress line %q shows a negative figure", l)
		}
	}
	last := lines[len(lines)-1]
	if !sawLeft || !sawDraining || !regexp.MustCompile(`ok \d+ refused [1-9]\d* fail [1-9]\d* info 0`).MatchString(last) {
		t.Errorf("progress output:\n%s\nwant lines with the time left, then draining, the last counting refusals apart from failures", text)
	}
}

// TestAbortOnFail: against a target that is down, the run gives up once every request has
// failed for AbortOnFail, and says why; refusals are not failures and never abort it.
func TestAbortOnFail(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	sc := browseScenario(t, "{profile: constant, rate: 50/s, users: 1000}") // 20s of arrivals
	start := time.Now()
	sum, err := Run(context.Background(), Config{Scenario: sc, Target: dead.URL, AbortOnFail: 1500 * time.Millisecond})
	if !errors.Is(err, ErrAllFailing) || !strings.Contains(err.Error(), "is the target up?") {
		t.Fatalf("Run against a dead target = %v, want ErrAllFailing", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the run gave up after %s, want soon after 1.5s", took)
	}
	if sum == nil || !sum.Interrupted || sum.Arrived >= 1000 {
		t.Errorf("summary %+v: want the interrupted run so far", sum)
	}

	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stubError(w, 409, "sold_out", nil) }))
	defer refusing.Close()
	sc = browseScenario(t, "{profile: constant, rate: 50/s, users: 100}")
	if _, err := Run(context.Background(), Config{Scenario: sc, Target: refusing.URL, AbortOnFail: 500 * time.Millisecond}); err != nil {
		t.Errorf("Run against a target refusing every request as sold out = %v, want no abort", err)
	}
}
