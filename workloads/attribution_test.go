package workloads

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// exposition is a /metrics page of the reference server's shape after k units of work: every
// sum grows with k, the shed counter only when shed is set, and a stream route that must be
// left out.
func exposition(k float64, shed bool) string {
	var b strings.Builder
	hist := func(name, labels string, sum, count float64) {
		fmt.Fprintf(&b, "%s_bucket{%sle=\"+Inf\"} %g\n%s_sum{%s} %g\n%s_count{%s} %g\n",
			name, labels, count, name, strings.TrimSuffix(labels, ","), sum, name, strings.TrimSuffix(labels, ","), count)
	}
	b.WriteString("# TYPE stampede_http_request_duration_seconds histogram\n")
	hist("stampede_http_request_duration_seconds", `route="POST /events/{event_id}/holds",status="2xx",`, 10*k, 100*k)
	hist("stampede_http_request_duration_seconds", `route="GET /queue/{ticket}/stream",status="2xx",`, 1000*k, 5*k)
	b.WriteString("# TYPE stampede_db_pool_wait_seconds histogram\n")
	hist("stampede_db_pool_wait_seconds", `tag="hold",`, 1*k, 100*k)
	hist("stampede_db_pool_wait_seconds", `tag="chaos",`, 50*k, 1)
	b.WriteString("# TYPE stampede_db_conn_hold_seconds histogram\n")
	hist("stampede_db_conn_hold_seconds", `tag="hold",`, 4*k, 100*k)
	hist("stampede_db_conn_hold_seconds", `tag="chaos",`, 50*k, 1)
	b.WriteString("# TYPE stampede_strategy_operation_duration_seconds histogram\n")
	hist("stampede_strategy_operation_duration_seconds", `strategy="redis-lock",op="hold",`, 7*k, 100*k)
	b.WriteString("# TYPE stampede_checkout_processor_seconds histogram\n")
	hist("stampede_checkout_processor_seconds", `op="charge",result="ok",`, 0.5*k, 10*k)
	if shed {
		fmt.Fprintf(&b, "# TYPE stampede_http_shed_total counter\nstampede_http_shed_total{class=\"browse\"} %g\n", 3*k)
	}
	return b.String()
}

func parseExposition(tb testing.TB, text string) *ServerTime {
	tb.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		tb.Fatalf("parse exposition: %v\n%s", err, text)
	}
	return serverTimeOf(fams)
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestServerTimeSince(t *testing.T) {
	before := parseExposition(t, exposition(1, true))
	after := parseExposition(t, exposition(3, true))
	d := after.since(before)
	if d.Restarted || !near(d.HTTP, 20) || d.Requests != 200 || !near(d.PoolWait["hold"], 2) || !near(d.ConnHold["hold"], 8) ||
		!near(d.Strategy, 14) || !near(d.StrategyDB, 10) || !near(d.Payment, 1) || d.Shed != 6 || !d.ShedExposed {
		t.Errorf("since = %+v; want http 20s over 200 requests (streams left out), pool 2s, hold 8s, strategy 14s (10s of it on the database), payment 1s, 6 shed", d)
	}
	if _, ok := d.PoolWait[chaosConnTag]; ok {
		t.Errorf("since counts the chaos fault's connections: %+v", d.PoolWait)
	}
	restarted := parseExposition(t, exposition(0.5, false)).since(before)
	if !restarted.Restarted || !near(restarted.HTTP, 5) {
		t.Errorf("since a restart = %+v, want the last process's figures marked restarted", restarted)
	}
}

func TestAttribute(t *testing.T) {
	srv := parseExposition(t, exposition(3, true)).since(parseExposition(t, exposition(1, true)))
	tests := []struct {
		name      string
		sum       Summary
		srv       *ServerTime
		limit     string
		costs     []string // resource names, largest first
		shed      int64
		noteAbout string
	}{
		{name: "the database", sum: Summary{Generator: GeneratorStats{LagSeconds: 0.5}, Outcomes: Outcomes{Shed: 2}}, srv: srv,
			// database 8, server 20-2-8-1-(14-10-1) = 6, redis (estimated) 3, pool wait 2, payment 1, generator 0.5
			limit: "database", costs: []string{"database", "server", "redis", "pool wait (hold)", "payment", "generator"}, shed: 6},
		{name: "generator-bound", sum: Summary{GeneratorBound: true, GeneratorReasons: []string{"lag p99 1s over 100ms"},
			Generator: GeneratorStats{LagSeconds: 0.5}}, srv: srv, limit: "generator", shed: 6},
		{name: "a target without metrics", sum: Summary{Generator: GeneratorStats{SlotWaitSeconds: 2}, Outcomes: Outcomes{Shed: 2}},
			limit: "target", costs: []string{"generator"}, shed: 2, noteAbout: "no /metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := attribute(&tt.sum, tt.srv, nil)
			if a.Limit != tt.limit || a.Shed != tt.shed || a.Why == "" {
				t.Errorf("attribute = limit %q (%s), shed %d; want %q, %d", a.Limit, a.Why, a.Shed, tt.limit, tt.shed)
			}
			if tt.costs != nil {
				var names []string
				var share float64
				for _, c := range a.Costs {
					names = append(names, c.Name())
					share += c.Share
				}
				if strings.Join(names, ",") != strings.Join(tt.costs, ",") || math.Abs(share-1) > 0.01 {
					t.Errorf("costs %v (shares summing to %.3f), want %v summing to 1", a.Costs, share, tt.costs)
				}
			}
			if tt.noteAbout != "" && (len(a.Notes) == 0 || !strings.Contains(a.Notes[0], tt.noteAbout)) {
				t.Errorf("notes %q, want one about %q", a.Notes, tt.noteAbout)
			}
		})
	}
}

// TestDriverReadsServerMetrics runs a herd against a target whose /metrics grows with the
// requests it serves and checks that the summary holds the difference over the herd.
func TestDriverReadsServerMetrics(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			fmt.Fprint(w, exposition(float64(1+served.Load()), false))
			return
		}
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	sum, err := Run(context.Background(), Config{Scenario: browseScenario(t, "{profile: constant, rate: 100/s, users: 20}"), Target: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Server == nil {
		t.Fatalf("Server = nil, want the target's figures; attribution %+v", sum.Attribution)
	}
	if n := served.Load(); !near(sum.Server.ConnHold["hold"], 4*float64(n)) || sum.Server.Restarted {
		t.Errorf("Server.ConnHold = %v after %d requests, want 4s each", sum.Server.ConnHold, n)
	}
	if sum.Attribution.Limit != "database" || sum.Attribution.ShedSource != "driver" {
		t.Errorf("attribution %+v, want the database named, shed counted by the driver", sum.Attribution)
	}

	// The same herd with the metrics left alone.
	sum, err = Run(context.Background(), Config{Scenario: browseScenario(t, "{profile: constant, rate: 100/s, users: 5}"), Target: srv.URL,
		ServerMetrics: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Server != nil || sum.Attribution.Limit != ResourceTarget {
		t.Errorf("with ServerMetrics \"-\": server %+v, limit %q; want none and the target", sum.Server, sum.Attribution.Limit)
	}
}

// TestTargetSlowdown checks the slot-wait rule's arithmetic on times in flight (microseconds).
func TestTargetSlowdown(t *testing.T) {
	// hist records each value; times repeats each value of a case judged slowed, so that it
	// has enough answers.
	hist := func(us ...int64) *hdr.Histogram {
		h := newHist()
		for _, v := range us {
			_ = h.RecordValue(v)
		}
		return h
	}
	times := func(h *hdr.Histogram, k int64) *hdr.Histogram {
		out := newHist()
		for range k {
			out.Merge(h)
		}
		return out
	}
	tests := []struct {
		name    string
		flights []*hdr.Histogram
		q       float64
		slowed  bool
	}{
		// Typically 80 ms over a base of 10 ms: the target added 70 of every 80.
		{"queued in the target", []*hdr.Histogram{times(hist(10_000, 80_000, 80_000, 150_000), 5)}, 0.875, true},
		// Typically 21 ms over a base of 20 ms: the target kept its time.
		{"a steady target", []*hdr.Histogram{hist(20_000, 21_000, 22_000)}, 0.048, false},
		// Tripled, but by 0.2 ms a request: a fast target's jitter.
		{"a fast target's jitter", []*hdr.Histogram{hist(100, 300, 500)}, 0.667, false},
		// Weighted by requests: the slow reads hold the slots, the quick holds do not matter much.
		{"two operations", []*hdr.Histogram{times(hist(1_000, 1_000, 1_000, 1_000), 5), times(hist(10_000, 190_000, 190_000), 5)}, 0.941, true},
		{"nothing sent", []*hdr.Histogram{hist()}, 0, false},
		// The same shape as the first, but from a handful of answers.
		{"too few answers", []*hdr.Histogram{hist(10_000, 80_000, 80_000)}, 0.875, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, slowed := targetSlowdown(tt.flights)
			if math.Abs(q-tt.q) > 0.002 || slowed != tt.slowed {
				t.Errorf("targetSlowdown = %.3f, %v; want %.3f, %v", q, slowed, tt.q, tt.slowed)
			}
		})
	}
}
