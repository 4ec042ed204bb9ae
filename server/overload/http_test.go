package overload

import (
	"encoding/json"
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
