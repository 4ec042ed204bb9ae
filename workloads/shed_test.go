package workloads

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"stampede/history"
)

// TestShedHoldsAreRetriedAfterRetryAfter sends one buyer at a target that sheds its first two
// holds with Retry-After: 1, and checks that the buyer waits the advised second before each
// retry while its patience lasts, gives up when it would not, and that the shed answers are
// recorded as shed: in the history, the summary and the metrics, and not as errors.
func TestShedHoldsAreRetriedAfterRetryAfter(t *testing.T) {
	tests := []struct {
		name     string
		patience string
		shed     int // shed records wanted
		held     bool
	}{
		{"patient enough", "5s", 2, true},
		{"patience runs out", "1500ms", 2, false},
		{"no patience", "0s", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stub, srv := newContractStub(t)
			stub.shedHolds, stub.retryAfter = 2, "1"
			sc, err := Parse("shed.yaml", []byte(fmt.Sprintf(`name: shed
inventory: {sections: 1, rows: 2, seats_per_row: 10}
arrivals: {profile: constant, rate: 10/s, users: 1}
users: [{flow: buy, seats: {count: 1, choice: specific, seats: [A-1-1]}, hold_tries: 1, patience: %s}]
slo: {error_rate: 0%%}
`, tt.patience)))
			if err != nil {
				t.Fatal(err)
			}
			var h, metrics bytes.Buffer
			sum, err := Run(context.Background(), Config{Scenario: sc, Target: srv.URL, History: history.NewWriter(&h), Metrics: &metrics})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := history.ReadAll(&h)
			if err != nil {
				t.Fatal(err)
			}
			var holds []history.Record
			for _, r := range recs {
				if r.Op == history.OpHold {
					holds = append(holds, r)
				}
			}
			want := tt.shed
			if tt.held {
				want++
			}
			if len(holds) != want {
				t.Fatalf("%d hold records %+v, want %d", len(holds), holds, want)
			}
			for i, r := range holds[:tt.shed] {
				if r.Type != history.Shed || r.Out.Status != 503 || r.Out.Code != "overloaded" {
					t.Errorf("hold %d = %s %d %q, want shed 503 overloaded", i, r.Type, r.Out.Status, r.Out.Code)
				}
				if i+1 < len(holds) {
					if gap := time.Duration(holds[i+1].Call - r.Ret); gap < 950*time.Millisecond {
						t.Errorf("retry %d sent %s after the shed answer, want the advised second", i+1, gap)
					}
				}
			}
			if tt.held && holds[len(holds)-1].Type != history.Ok {
				t.Errorf("last hold = %s, want ok once the target stopped shedding", holds[len(holds)-1].Type)
			}
			if got := stub.holdCalls; got != len(holds) {
				t.Errorf("the target saw %d holds, the history has %d", got, len(holds))
			}
			o := sum.Ops["hold"]
			if sum.Outcomes.Shed != int64(tt.shed) || o.Outcomes.Shed != int64(tt.shed) || o.Outcomes.Fail != 0 {
				t.Errorf("summary shed %d, hold outcomes %+v; want %d shed and no failures", sum.Outcomes.Shed, o.Outcomes, tt.shed)
			}
			if sum.Errors != 0 || !sum.Passed() {
				t.Errorf("summary errors %d, SLO %+v: shed requests are not errors", sum.Errors, sum.SLO)
			}
			var shed int64
			for _, line := range bytes.Split(bytes.TrimSpace(metrics.Bytes()), []byte("\n")) {
				var l MetricsLine
				if err := json.Unmarshal(line, &l); err != nil {
					t.Fatalf("metrics line %q: %v", line, err)
				}
				shed += l.Shed
			}
			if shed != int64(tt.shed) {
				t.Errorf("metrics.jsonl counts %d shed requests, want %d:\n%s", shed, tt.shed, metrics.String())
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", DefaultRetryAfter},
		{"3", 3 * time.Second},
		{" 0 ", 0},
		{"-1", DefaultRetryAfter},
		{"soon", DefaultRetryAfter},
		{"99999999999999999999", DefaultRetryAfter},
		{now.Add(90 * time.Second).Format(http1123), 90 * time.Second},
		{now.Add(-time.Minute).Format(http1123), 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// http1123 is the HTTP-date layout (net/http.TimeFormat).
const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"
