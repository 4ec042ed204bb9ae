package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestProcessor starts a processor on an httptest server and returns it with a client.
func newTestProcessor(tb testing.TB, opts ...Option) (*Processor, *Client, string) {
	tb.Helper()
	p := New(opts...)
	srv := httptest.NewServer(p)
	tb.Cleanup(func() {
		p.Close()
		srv.Close()
	})
	c, err := NewClient(srv.URL, WithTimeout(5*time.Second))
	if err != nil {
		tb.Fatalf("NewClient(%q): %v", srv.URL, err)
	}
	return p, c, srv.URL
}

// post sends a raw request and returns the status and decoded body.
func post(tb testing.TB, url, key, body string) (int, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			tb.Fatalf("POST %s: body %q is not JSON: %v", url, raw, err)
		}
	}
	return resp.StatusCode, out
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestChargeValidation(t *testing.T) {
	_, _, url := newTestProcessor(t)
	tests := []struct {
		name, key, body string
		wantMsg         string
	}{
		{"missing key", "", `{"amount_cents":100,"reference":"h1"}`, "Idempotency-Key"},
		{"long key", strings.Repeat("k", 256), `{"amount_cents":100,"reference":"h1"}`, "255"},
		{"zero amount", "k-1", `{"amount_cents":0,"reference":"h1"}`, "amount_cents"},
		{"negative amount", "k-2", `{"amount_cents":-5,"reference":"h1"}`, "amount_cents"},
		{"amount wrong type", "k-3", `{"amount_cents":"100","reference":"h1"}`, `"amount_cents": want integer`},
		{"missing reference", "k-4", `{"amount_cents":100}`, "reference"},
		{"not json", "k-5", `amount=100`, "body"},
		{"two objects", "k-6", `{"amount_cents":100,"reference":"h1"}{}`, "one JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, url+"/charges", tt.key, tt.body)
			if status != http.StatusBadRequest || errorCode(body) != "invalid_request" {
				t.Fatalf("POST /charges %s: got %d %v, want 400 invalid_request", tt.body, status, body)
			}
			msg := body["error"].(map[string]any)["message"].(string)
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not name %q", msg, tt.wantMsg)
			}
		})
	}
	status, body := post(t, url+"/refunds", "r-1", `{}`)
	if status != http.StatusBadRequest || errorCode(body) != "invalid_request" {
		t.Errorf("POST /refunds {}: got %d %v, want 400 invalid_request", status, body)
	}
}

func TestChargeIdempotency(t *testing.T) {
	p, c, url := newTestProcessor(t)
	ctx := context.Background()
	req := ChargeRequest{AmountCents: 5000, Reference: "h_1", PaymentMethod: "card_ok"}
	first, err := c.Charge(ctx, "key-1", req)
	if err != nil {
		t.Fatalf("Charge: %v", err)
	}
	if first.Replayed || first.Status != StatusCaptured || first.AmountCents != 5000 || first.IdempotencyKey != "key-1" {
		t.Fatalf("Charge = %+v, want a new captured charge of 5000 under key-1", first)
	}
	again, err := c.Charge(ctx, "key-1", req)
	if err != nil {
		t.Fatalf("Charge replay: %v", err)
	}
	if !again.Replayed || again.ID != first.ID {
		t.Fatalf("Charge replay = %+v, want a replay of %s", again, first.ID)
	}
	// The raw status of a replay is 200, of a new charge 201.
	if status, _ := post(t, url+"/charges", "key-1", `{"amount_cents":5000,"reference":"h_1","payment_method":"card_ok"}`); status != http.StatusOK {
		t.Errorf("raw replay status %d, want 200", status)
	}
	_, err = c.Charge(ctx, "key-1", ChargeRequest{AmountCents: 4000, Reference: "h_1", PaymentMethod: "card_ok"})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("Charge with the same key and another amount: err %v, want ErrConflict", err)
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Status != http.StatusUnprocessableEntity || pe.Code != "idempotency_conflict" {
		t.Errorf("conflict error = %#v, want 422 idempotency_conflict", pe)
	}
	if n := len(p.Ledger().Charges); n != 1 {
		t.Errorf("ledger has %d charges, want 1", n)
	}
}

func TestDecline(t *testing.T) {
	p, c, _ := newTestProcessor(t)
	ctx := context.Background()
	req := ChargeRequest{AmountCents: 100, Reference: "h", PaymentMethod: DeclinedMethod}
	for i := range 2 {
		_, err := c.Charge(ctx, "dec-key", req)
		if !errors.Is(err, ErrDeclined) {
			t.Fatalf("attempt %d: Charge(card_declined) err %v, want ErrDeclined", i, err)
		}
	}
	if l := p.Ledger(); len(l.Charges) != 0 {
		t.Errorf("ledger after declines: %+v, want no charges", l)
	}
	// The key remembers the decline; the same key with a good card is another request.
	if _, err := c.Charge(ctx, "dec-key", ChargeRequest{AmountCents: 100, Reference: "h", PaymentMethod: "card_ok"}); !errors.Is(err, ErrConflict) {
		t.Errorf("same key, other card: err %v, want ErrConflict", err)
	}
}

func TestRefunds(t *testing.T) {
	p, c, _ := newTestProcessor(t)
	ctx := context.Background()
	ch, err := c.Charge(ctx, "ck-1", ChargeRequest{AmountCents: 2500, Reference: "h"})
	if err != nil {
		t.Fatal(err)
	}
	rf, err := c.Refund(ctx, "rk-1", RefundRequest{ChargeID: ch.ID, Reason: "hold_lost"})
	if err != nil {
		t.Fatalf("Refund: %v", err)
	}
	if rf.Replayed || rf.ChargeID != ch.ID || rf.AmountCents != 2500 {
		t.Fatalf("Refund = %+v, want a new refund of 2500 for %s", rf, ch.ID)
	}
	tests := []struct {
		name string
		key  string
		req  RefundRequest
		want error
	}{
		{"replay", "rk-1", RefundRequest{ChargeID: ch.ID, Reason: "hold_lost"}, nil},
		{"same key other reason", "rk-1", RefundRequest{ChargeID: ch.ID, Reason: "other"}, ErrConflict},
		{"other key same charge", "rk-2", RefundRequest{ChargeID: ch.ID}, ErrAlreadyRefunded},
		{"unknown charge", "rk-3", RefundRequest{ChargeID: "ch_nope"}, ErrChargeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Refund(ctx, tt.key, tt.req)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Refund(%s, %+v): err %v, want %v", tt.key, tt.req, err, tt.want)
			}
			if tt.want == nil && (!got.Replayed || got.ID != rf.ID) {
				t.Errorf("Refund replay = %+v, want replay of %s", got, rf.ID)
			}
		})
	}
	l := p.Ledger()
	if len(l.Charges) != 1 || l.Charges[0].Status != StatusRefunded || len(l.Refunds) != 1 {
		t.Fatalf("ledger = %+v, want one refunded charge and one refund", l)
	}
	if captured, refunded, net := l.Totals(); captured != 2500 || refunded != 2500 || net != 0 {
		t.Errorf("Totals = %d, %d, %d; want 2500, 2500, 0", captured, refunded, net)
	}
	// The HTTP ledger says the same.
	hl, err := c.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hl.Charges) != 1 || hl.Charges[0].ID != ch.ID || len(hl.Refunds) != 1 || hl.Refunds[0].ID != rf.ID {
		t.Errorf("GET /ledger = %+v, want charge %s and refund %s", hl, ch.ID, rf.ID)
	}
}

// TestConcurrentSameKey: many requests with one key at once make one charge; one of them is
// the original, the rest replays.
func TestConcurrentSameKey(t *testing.T) {
	p, c, _ := newTestProcessor(t)
	const n = 32
	var wg sync.WaitGroup
	results := make([]Charge, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = c.Charge(context.Background(), "same", ChargeRequest{AmountCents: 10, Reference: "h"})
		}()
	}
	close(start)
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if results[i].ID != results[0].ID {
			t.Fatalf("request %d got charge %s, request 0 got %s", i, results[i].ID, results[0].ID)
		}
		if !results[i].Replayed {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d requests were answered as new charges, want 1", fresh)
	}
	if got := len(p.Ledger().Charges); got != 1 {
		t.Errorf("ledger has %d charges, want 1", got)
	}
}

func TestFaultValidation(t *testing.T) {
	_, c, url := newTestProcessor(t)
	tests := []struct {
		name, body, field string
	}{
		{"negative latency", `{"latency_ms":-1}`, "latency_ms"},
		{"huge latency", `{"latency_ms":600001}`, "latency_ms"},
		{"rate above one", `{"error_rate":1.5}`, "error_rate"},
		{"negative rate", `{"timeout_rate":-0.1}`, "timeout_rate"},
		{"latency rate above one", `{"latency_ms":5,"latency_rate":2}`, "latency_rate"},
		{"wrong type", `{"error_rate":"half"}`, `error_rate\": want number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, url+"/admin/faults", strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), tt.field) {
				t.Errorf("PUT /admin/faults %s: %d %s, want 400 naming %s", tt.body, resp.StatusCode, raw, tt.field)
			}
		})
	}
	seed := int64(7)
	want := Faults{LatencyMS: 3, ErrorRate: 0.25, TimeoutRate: 0.25, LostResponseRate: 0.5, Seed: &seed}
	if err := c.SetFaults(context.Background(), want); err != nil {
		t.Fatalf("SetFaults: %v", err)
	}
	got, err := c.Faults(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.LatencyMS != 3 || got.ErrorRate != 0.25 || got.TimeoutRate != 0.25 || got.LostResponseRate != 0.5 || got.Seed == nil || *got.Seed != 7 {
		t.Errorf("GET /admin/faults = %+v, want %+v", got, want)
	}
}

// TestFaults drives each failure mode at rate 1 and checks what the caller concludes and what
// the ledger holds.
func TestFaults(t *testing.T) {
	tests := []struct {
		name        string
		faults      Faults
		wantCharged bool
		wantStatus  int // the processor's status when it answered, 0 when it did not
	}{
		{"error", Faults{ErrorRate: 1}, false, http.StatusInternalServerError},
		{"timeout", Faults{TimeoutRate: 1}, false, 0},
		{"lost response", Faults{LostResponseRate: 1}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			srv := httptest.NewServer(p)
			defer srv.Close()
			defer p.Close()
			c, err := NewClient(srv.URL, WithTimeout(300*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			req := ChargeRequest{AmountCents: 700, Reference: "h"}
			_, err = c.Charge(context.Background(), "fk", req)
			if !errors.Is(err, ErrUnknownOutcome) {
				t.Fatalf("Charge under %+v: err %v, want ErrUnknownOutcome", tt.faults, err)
			}
			var pe *Error
			if got := errors.As(err, &pe); got != (tt.wantStatus != 0) || (got && pe.Status != tt.wantStatus) {
				t.Errorf("Charge error %v: want processor status %d", err, tt.wantStatus)
			}
			if n := len(p.Ledger().Charges); (n == 1) != tt.wantCharged || n > 1 {
				t.Fatalf("ledger has %d charges, want charged=%v", n, tt.wantCharged)
			}
			// Healthy again, the retry with the same key settles the outcome: one charge at most.
			if err := p.SetFaults(Faults{}); err != nil {
				t.Fatal(err)
			}
			ch, err := c.Charge(context.Background(), "fk", req)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if ch.Replayed != tt.wantCharged {
				t.Errorf("retry Replayed = %v, want %v", ch.Replayed, tt.wantCharged)
			}
			if n := len(p.Ledger().Charges); n != 1 {
				t.Errorf("ledger after retry has %d charges, want 1", n)
			}
		})
	}
}

// TestFaultPrecedence: rates that add up past 1 are applied in order, the later ones getting
// what the earlier leave.
func TestFaultPrecedence(t *testing.T) {
	p, c, _ := newTestProcessor(t)
	if err := p.SetFaults(Faults{ErrorRate: 1, LostResponseRate: 1}); err != nil {
		t.Fatalf("SetFaults with rates summing to 2: %v", err)
	}
	for i := range 5 {
		_, err := c.Charge(context.Background(), fmt.Sprintf("prec-%d", i), ChargeRequest{AmountCents: 1, Reference: "h"})
		var pe *Error
		if !errors.As(err, &pe) || pe.Status != http.StatusInternalServerError {
			t.Fatalf("charge %d: err %v, want the injected 500 (error_rate comes first)", i, err)
		}
	}
	if st := p.Stats(); st.Errors != 5 || st.LostResponse != 0 {
		t.Errorf("stats %+v, want 5 errors and no lost responses", st)
	}
}

// TestFaultsAreSeeded: two processors with the same seed fail the same sequential requests.
func TestFaultsAreSeeded(t *testing.T) {
	outcomes := func(seed int64) string {
		p, c, _ := newTestProcessor(t)
		if err := p.SetFaults(Faults{ErrorRate: 0.3, LostResponseRate: 0.3, Seed: &seed}); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := range 40 {
			_, err := c.Charge(context.Background(), fmt.Sprintf("k%d", i), ChargeRequest{AmountCents: 1, Reference: "h"})
			var pe *Error
			switch {
			case err == nil:
				b.WriteByte('.')
			case errors.As(err, &pe):
				b.WriteByte('E')
			default:
				b.WriteByte('L')
			}
		}
		return b.String()
	}
	a, b := outcomes(42), outcomes(42)
	if a != b {
		t.Fatalf("seed 42 gave %s then %s", a, b)
	}
	if !strings.Contains(a, ".") || !strings.Contains(a, "E") || !strings.Contains(a, "L") {
		t.Errorf("40 requests at 30%%/30%% gave %s; want every kind of outcome", a)
	}
	if c := outcomes(43); c == a {
		t.Errorf("seeds 42 and 43 gave the same sequence %s", a)
	}
}

// TestLatencyRate: a partial latency delays the fraction of requests it names, the same ones
// for the same seed, and does not change which requests the other faults hit.
func TestLatencyRate(t *testing.T) {
	draw := func(f Faults) (delayed, fates string) {
		in := newInjector(1)
		if err := in.set(f); err != nil {
			t.Fatal(err)
		}
		var d, b strings.Builder
		for range 200 {
			fa, lat := in.decide()
			d.WriteByte(".D"[min(lat, 1)])
			b.WriteString(fa.String()[:1])
		}
		return d.String(), b.String()
	}
	seed, other := int64(42), int64(43)
	half := 0.5
	a, fatesA := draw(Faults{LatencyMS: 10, LatencyRate: &half, ErrorRate: 0.3, Seed: &seed})
	if n := strings.Count(a, "D"); n < 70 || n > 130 {
		t.Errorf("latency_rate 0.5 delayed %d of 200 requests", n)
	}
	if b, _ := draw(Faults{LatencyMS: 10, LatencyRate: &half, ErrorRate: 0.3, Seed: &seed}); b != a {
		t.Errorf("seed 42 delayed %s, then %s", a, b)
	}
	if c, _ := draw(Faults{LatencyMS: 10, LatencyRate: &half, ErrorRate: 0.3, Seed: &other}); c == a {
		t.Errorf("seeds 42 and 43 delayed the same requests")
	}
	if _, fatesB := draw(Faults{ErrorRate: 0.3, Seed: &seed}); fatesB != fatesA {
		t.Errorf("a partial latency changed which requests fail:\n%s\n%s", fatesA, fatesB)
	}
	if all, _ := draw(Faults{LatencyMS: 10, Seed: &seed}); strings.Contains(all, ".") {
		t.Errorf("latency without a rate skipped requests: %s", all)
	}

	// Over HTTP: the processor counts what it delayed.
	p, c, _ := newTestProcessor(t)
	none := 0.0
	if err := p.SetFaults(Faults{LatencyMS: 1, LatencyRate: &none}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := c.Charge(context.Background(), fmt.Sprintf("lr-%d", i), ChargeRequest{AmountCents: 1, Reference: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.SetFaults(Faults{LatencyMS: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Charge(context.Background(), "lr-all", ChargeRequest{AmountCents: 1, Reference: "h"}); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Delayed != 1 {
		t.Errorf("stats %+v: want exactly the one request of latency rate 1 delayed", st)
	}
}

// TestLatencyPastClientDeadline: a client that gives up during the latency does not stop the
// charge, which the retry with the same key then finds.
func TestLatencyPastClientDeadline(t *testing.T) {
	p := New()
	srv := httptest.NewServer(p)
	defer srv.Close()
	defer p.Close()
	if err := p.SetFaults(Faults{LatencyMS: 400}); err != nil {
		t.Fatal(err)
	}
	c, _ := NewClient(srv.URL, WithTimeout(50*time.Millisecond))
	_, err := c.Charge(context.Background(), "slow", ChargeRequest{AmountCents: 9, Reference: "h"})
	if !errors.Is(err, ErrUnknownOutcome) {
		t.Fatalf("Charge with latency past the deadline: err %v, want ErrUnknownOutcome", err)
	}
	p.Close() // release the pending latency at once
	deadline := time.Now().Add(5 * time.Second)
	for len(p.Ledger().Charges) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned charge never reached the ledger")
		}
		time.Sleep(5 * time.Millisecond)
	}
	patient, _ := NewClient(srv.URL)
	ch, err := patient.Charge(context.Background(), "slow", ChargeRequest{AmountCents: 9, Reference: "h"})
	if err != nil || !ch.Replayed {
		t.Fatalf("retry = %+v, %v; want a replay", ch, err)
	}
}

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, p) }()
	c, _ := NewClient("http://"+ln.Addr().String(), WithTimeout(30*time.Second))
	if _, err := c.Charge(ctx, "s-1", ChargeRequest{AmountCents: 1, Reference: "h"}); err != nil {
		t.Fatalf("Charge: %v", err)
	}
	// A request held by the timeout fault must not keep the shutdown waiting.
	if err := p.SetFaults(Faults{TimeoutRate: 1}); err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() {
		_, err := c.Charge(context.Background(), "s-2", ChargeRequest{AmountCents: 1, Reference: "h"})
		held <- err
	}()
	for p.Stats().Timeouts == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if err := <-held; !errors.Is(err, ErrUnknownOutcome) {
		t.Errorf("held charge: err %v, want ErrUnknownOutcome", err)
	}
	if n := len(p.Ledger().Charges); n != 1 {
		t.Errorf("ledger has %d charges, want 1", n)
	}
	if err := ListenAndServe(context.Background(), "256.0.0.1:1"); err == nil {
		t.Error("ListenAndServe on an invalid address: want an error")
	}
}

func TestNewClient(t *testing.T) {
	for _, u := range []string{"", "localhost:8081", "ftp://x", "http://"} {
		if _, err := NewClient(u); err == nil {
			t.Errorf("NewClient(%q): want an error", u)
		}
	}
	if _, err := NewClient("http://127.0.0.1:1", WithTimeout(0)); err == nil {
		t.Error("NewClient with zero timeout: want an error")
	}
	c, _ := NewClient("http://127.0.0.1:1") // nothing listens on port 1
	if _, err := c.Charge(context.Background(), "k", ChargeRequest{AmountCents: 1, Reference: "h"}); !errors.Is(err, ErrUnknownOutcome) {
		t.Errorf("Charge to a closed port: err %v, want ErrUnknownOutcome", err)
	}
}

func FuzzCharge(f *testing.F) {
	for _, s := range []string{
		`{"amount_cents":100,"reference":"h1"}`, `{"amount_cents":"1"}`, `{}`, `[]`, `{"amount_cents":1e30,"reference":"x"}`,
		`{"amount_cents":1,"reference":"h","payment_method":"card_declined"}`,
	} {
		f.Add(s)
	}
	p := New()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/charges", bytes.NewReader([]byte(body)))
		req.Header.Set("Idempotency-Key", "fuzz-"+fmt.Sprint(len(body)))
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusCreated, http.StatusOK, http.StatusBadRequest, http.StatusPaymentRequired, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("POST /charges %q: status %d", body, w.Code)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("POST /charges %q: answer %q is not JSON", body, w.Body.String())
		}
	})
}
