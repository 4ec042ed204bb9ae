package overload

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestWrap: a request over its class's ceiling is answered 503 overloaded with Retry-After and
// counted; the handler never runs for it.
func TestWrap(t *testing.T) {
	b, _ := newBudget(t, 2, time.Millisecond)
	release := mustAcquire(t, b, Browse) // browse's ceiling under 2 is 1
	defer release()
	ran := 0
	h := b.Wrap(Browse, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ran++
		w.WriteHeader(http.StatusOK)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/events", nil))
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("refused answer %q: %v", w.Body.String(), err)
	}
	if w.Code != http.StatusServiceUnavailable || body.Error.Code != "overloaded" || body.Error.Message == "" || w.Header().Get("Retry-After") != "1" {
		t.Errorf("browse over its ceiling = %d %+v Retry-After %q, want 503 overloaded with a message and Retry-After 1",
			w.Code, body.Error, w.Header().Get("Retry-After"))
	}
	if ran != 0 {
		t.Errorf("the handler ran %d times for a refused request, want 0", ran)
	}
	if got := value(t, b.m.shed.WithLabelValues("browse")); got != 1 {
		t.Errorf("stampede_http_shed_total{class=browse} = %v, want 1", got)
	}

	// A checkout under the same budget gets in, and its slot is back once it answered.
	h = b.Wrap(Checkout, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n := b.InFlight(Checkout); n != 1 {
			t.Errorf("InFlight(checkout) while its handler runs = %d, want 1", n)
		}
		w.WriteHeader(http.StatusCreated)
	}))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/holds/h1/checkout", nil))
	if w.Code != http.StatusCreated || b.InFlight(Checkout) != 0 {
		t.Errorf("checkout = %d with %d in flight after, want 201 and 0", w.Code, b.InFlight(Checkout))
	}
}

// TestGate: a gated handler is refused like a wrapped one, but holds no slot while it runs.
func TestGate(t *testing.T) {
	b, _ := newBudget(t, 10, time.Millisecond)
	h := b.Gate(Join, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n := b.InFlight(Join); n != 0 {
			t.Errorf("InFlight(join) while a gated stream runs = %d, want 0", n)
		}
		w.WriteHeader(http.StatusOK)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/queue/t1/stream", nil))
	if w.Code != http.StatusOK {
		t.Errorf("gated stream with room = %d, want 200", w.Code)
	}
	var held []func()
	for range 7 { // join's ceiling under 10
		held = append(held, mustAcquire(t, b, Join))
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/queue/t1/stream", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("gated stream over join's ceiling = %d Retry-After %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	for _, r := range held {
		r()
	}
}

// TestStepOut: checkouts let in by Wrap that step out (waiting on the payment processor) leave
// the budget to the holds; stepping back in counts them again at once, beyond the limit, and
// every slot is given back exactly once however the handler ends.
func TestStepOut(t *testing.T) {
	b, _ := newBudget(t, 4, time.Millisecond)
	out := make(chan func(), 4) // each checkout's back, once it stepped out
	finish := make(chan struct{})
	h := b.Wrap(Checkout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		back := StepOut(r.Context())
		out <- back
		<-finish
		if r.URL.Query().Get("back") == "yes" {
			back()
			back() // a second call changes nothing
		}
		w.WriteHeader(http.StatusOK)
	}))
	done := make(chan int, 4)
	for i := range 4 {
		go func() {
			rec := httptest.NewRecorder()
			q := "/checkout?back=no"
			if i%2 == 0 {
				q = "/checkout?back=yes"
			}
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, q, nil))
			done <- rec.Code
		}()
	}
	for range 4 {
		<-out
	}
	if got := b.InFlight(Checkout); got != 4 {
		t.Fatalf("checkouts in flight = %d, want 4 (stepped out, still in flight)", got)
	}
	if got := value(t, b.m.away.WithLabelValues("checkout")); got != 4 {
		t.Errorf("stampede_http_class_requests_away{checkout} = %v, want 4", got)
	}
	// The four checkouts fill the budget of 4, yet holds get in up to their own ceiling.
	var releases []func()
	for range Ceiling(Hold, 4) {
		releases = append(releases, mustAcquire(t, b, Hold))
	}
	if _, err := b.Acquire(context.Background(), Hold); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("a hold beyond its ceiling = %v, want ErrOverloaded", err)
	}
	for _, r := range releases {
		r()
	}
	// Two come back in while the budget is full of holds: counted at once, never refused.
	releases = releases[:0]
	for range Ceiling(Hold, 4) {
		releases = append(releases, mustAcquire(t, b, Hold))
	}
	close(finish)
	for range 4 {
		if code := <-done; code != http.StatusOK {
			t.Errorf("a checkout that stepped out answered %d, want 200", code)
		}
	}
	for _, r := range releases {
		r()
	}
	b.mu.Lock()
	total := b.total
	b.mu.Unlock()
	if total != 0 || b.InFlight(Checkout) != 0 || b.InFlight(Hold) != 0 {
		t.Errorf("after every request: total %d, checkouts %d, holds %d in flight; want 0", total, b.InFlight(Checkout), b.InFlight(Hold))
	}
	if got := value(t, b.m.away.WithLabelValues("checkout")); got != 0 {
		t.Errorf("stampede_http_class_requests_away{checkout} after every request = %v, want 0", got)
	}
	// Outside a wrapped request, StepOut does nothing.
	StepOut(context.Background())()
}
