package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// holdTarget is a booking system that is not ours and gives every hold ten minutes, whatever
// the scenario assumes: it grants every hold, takes releases, and keeps an empty ledger.
func holdTarget(t *testing.T) string {
	t.Helper()
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	})
	mux.HandleFunc("POST /events/{event_id}/holds", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Seats []string `json:"seats"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"hold_id": fmt.Sprintf("h%d", n.Add(1)), "event_id": r.PathValue("event_id"), "session": r.Header.Get("X-Session-Id"),
			"seats": req.Seats, "expires_at": time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339Nano), "ttl_ms": 600000, "status": "held",
		})
	})
	mux.HandleFunc("DELETE /holds/{hold_id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /admin/ledger", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"event_id":"` + r.URL.Query().Get("event") + `","bookings":[]}`))
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestRunTargetHoldTTLMismatch: against a target whose holds last ten minutes, a scenario that
// assumes 2 s holds is told so, in the progress and in report.md and summary.json, and the
// report names the checks that depend on the target settling open checkouts.
func TestRunTargetHoldTTLMismatch(t *testing.T) {
	scenario := filepath.Join(t.TempDir(), "ttl.yaml")
	src := "name: ttl\ninventory: {sections: 1, rows: 1, seats_per_row: 20}\n" +
		"arrivals: {profile: constant, rate: 20/s, users: 10}\n" +
		"users: [{flow: buy, seats: {count: 1, choice: random}, abandon: 1}]\nhold_ttl: 2s\nrequest_timeout: 5s\n"
	if err := os.WriteFile(scenario, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, nil, "run", scenario, "--target", holdTarget(t), "--psp-addr", "127.0.0.1:0", "--out", out)
	mismatch := "hold TTL mismatch: the scenario assumes hold_ttl 2s, the target's answers gave 10m0s"
	if !strings.Contains(stderr, mismatch) {
		t.Fatalf("stampede run --target exited %d; progress lacks %q\nstdout:\n%s\nstderr:\n%s", code, mismatch, stdout, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{mismatch, "settling: the target is not asked to settle", "charges-matched and leaked-holds"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if js, _ := os.ReadFile(filepath.Join(out, "summary.json")); !strings.Contains(string(js), `"target_notes"`) {
		t.Errorf("summary.json has no target_notes")
	}
}
