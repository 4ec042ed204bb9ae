package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"stampede/history"
	"stampede/internal/sqldb"
	"stampede/internal/testsvc"
	"stampede/server"
	"stampede/server/payments"
	"stampede/strategies"
	"stampede/workloads"
	"stampede/workloads/prom"
)

// dashboard is the part of a Grafana dashboard the test reads; the decoding is strict, so a
// field the test does not know fails it rather than slipping by.
type dashboard struct {
	UID           string          `json:"uid"`
	Title         string          `json:"title"`
	Description   string          `json:"description"`
	Tags          []string        `json:"tags"`
	Timezone      string          `json:"timezone"`
	Editable      bool            `json:"editable"`
	GraphTooltip  int             `json:"graphTooltip"`
	Refresh       string          `json:"refresh"`
	SchemaVersion int             `json:"schemaVersion"`
	Version       int             `json:"version"`
	Time          json.RawMessage `json:"time"`
	Templating    json.RawMessage `json:"templating"`
	Annotations   struct {
		List []struct {
			BuiltIn        int        `json:"builtIn"`
			Datasource     datasource `json:"datasource"`
			Enable         bool       `json:"enable"`
			Hide           bool       `json:"hide"`
			IconColor      string     `json:"iconColor"`
			Name           string     `json:"name"`
			Type           string     `json:"type"`
			Expr           string     `json:"expr"`
			Step           string     `json:"step"`
			TitleFormat    string     `json:"titleFormat"`
			TagKeys        string     `json:"tagKeys"`
			TextFormat     string     `json:"textFormat"`
			UseValueForTme bool       `json:"useValueForTime"`
		} `json:"list"`
	} `json:"annotations"`
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int                      `json:"id"`
	Type        string                   `json:"type"`
	Title       string                   `json:"title"`
	Description string                   `json:"description"`
	Collapsed   bool                     `json:"collapsed"`
	Datasource  *datasource              `json:"datasource"`
	GridPos     struct{ H, W, X, Y int } `json:"gridPos"`
	FieldConfig json.RawMessage          `json:"fieldConfig"`
	Options     json.RawMessage          `json:"options"`
	Panels      []panel                  `json:"panels"`
	Targets     []struct {
		Datasource   datasource `json:"datasource"`
		Expr         string     `json:"expr"`
		LegendFormat string     `json:"legendFormat"`
		RefID        string     `json:"refId"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T, path string) dashboard {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return d
}

// The parts of a PromQL expression that are not metric names: strings, label matchers, range
// and subquery brackets, and grouping label lists; then the words that are functions (followed
// by a parenthesis), keywords and numbers.
var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promWord     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	promKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "Inf", "NaN"}
)

// metricNames returns the metric names an expression selects.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, "")
	s = promRanges.ReplaceAllString(s, "")
	s = promGrouping.ReplaceAllString(s, "")
	var names []string
	for _, m := range promWord.FindAllStringSubmatch(s, -1) {
		if m[1] != "" || slices.Contains(promKeywords, m[0]) {
			continue
		}
		names = append(names, m[0])
	}
	return names
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (op) (rate(stampede_driver_requests_total{outcome="ok"}[$__rate_interval]))`, []string{"stampede_driver_requests_total"}},
		{`histogram_quantile(0.99, sum by (tag, le) (rate(stampede_db_pool_wait_seconds_bucket[5m])))`, []string{"stampede_db_pool_wait_seconds_bucket"}},
		{`max by (fault) (stampede_driver_fault_active) > 0`, []string{"stampede_driver_fault_active"}},
		{`a / on (x) group_left b{l="sum(c)"} or vector(0)`, []string{"a", "b"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// exported gathers families into the names a query may use, with each one's type: a histogram
// by its _bucket, _sum and _count series.
func exported(t *testing.T, gs ...prometheus.Gatherer) map[string]dto.MetricType {
	t.Helper()
	out := map[string]dto.MetricType{}
	for _, g := range gs {
		fams, err := g.Gather()
		if err != nil {
			t.Fatalf("gather: %v", err)
		}
		for _, f := range fams {
			out[f.GetName()] = f.GetType()
			if f.GetType() == dto.MetricType_HISTOGRAM {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					out[f.GetName()+suffix] = dto.MetricType_COUNTER
				}
			}
		}
	}
	return out
}

// startReference runs the reference server (skip-locked on PostgreSQL, with Redis and the
// payment processor) on reg, its background work included, and returns its URL.
func startReference(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	db := testsvc.MigratedDB(t, "postgres", sqldb.Options{MaxConns: 16, Metrics: sqldb.NewMetrics(reg)}, strategies.Migrate)
	_, rdb := testsvc.RedisClient(t)
	psp := httptest.NewServer(payments.New(payments.WithSeed(1)))
	t.Cleanup(psp.Close)
	st, err := strategies.New("skip-locked", strategies.Deps{DB: db, Redis: rdb, KeyPrefix: "dash:", HoldTTL: time.Minute}, false)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := st.(strategies.Closer); ok {
		t.Cleanup(func() { _ = c.Close() })
	}
	srv, err := server.New(server.Config{DB: db, Strategy: st, Redis: rdb, KeyPrefix: "dash:", PSPURL: psp.URL,
		HoldTTL: time.Minute, Registry: reg, AdmissionSecret: []byte("dashboard-test-secret")})
	if err != nil {
		t.Fatal(err)
	}
	testsvc.Go(t, srv.Run)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestDashboardQueriesExportedMetrics drives a small on-sale with a waiting room at the
// reference server, with the driver's live metrics on, then checks every query of the
// dashboard, panels and annotations, against the metrics the two registries really hold.
func TestDashboardQueriesExportedMetrics(t *testing.T) {
	d := loadDashboard(t, filepath.Join("grafana", "dashboards", "stampede.json"))

	serverReg := prometheus.NewRegistry()
	target := startReference(t, serverReg)
	driverReg := prometheus.NewRegistry()
	m, err := prom.New(driverReg)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := workloads.Parse("dash.yaml", []byte(`name: dash
inventory: {events: 1, sections: 1, rows: 4, seats_per_row: 10, price_cents: 1000}
arrivals: {profile: constant, rate: 40/s, users: 40}
users:
  - {flow: browse, weight: 30, pages: [1, 2], think: 0s..50ms}
  - {flow: buy, weight: 70, seats: {count: [1, 2], choice: random}, think: 0s..50ms, pay_after: 0s..100ms, abandon: 0.2}
hold_ttl: 30s
request_timeout: 10s
waiting_room: {enabled: true, admit_rate: 100/s, timeout: 20s}
`))
	if err != nil {
		t.Fatal(err)
	}
	drv, err := workloads.New(workloads.Config{Scenario: sc, Target: target, CreateEvents: true, Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	now := drv.Clock().Now()
	if err := drv.Annotate(&history.Record{Op: history.KindFaultStart, Call: now, Ret: now, Type: history.Ok,
		In: history.Input{Fault: "psp-delay"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := drv.Run(ctx)
	if err != nil {
		t.Fatalf("drive: %v", err)
	}
	if sum.Ops["join"] == nil || sum.Ops["hold"] == nil || sum.Ops["browse"] == nil {
		t.Fatalf("the herd did not join, hold and browse: %+v", sum.Ops)
	}
	names := exported(t, serverReg, driverReg)

	var exprs []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "prometheus" || len(p.Targets) == 0 {
				t.Errorf("panel %q: data source %+v, %d queries; want queries of the prometheus data source", p.Title, p.Datasource, len(p.Targets))
			}
			for _, q := range p.Targets {
				exprs = append(exprs, q.Expr)
			}
		}
	}
	walk(d.Panels)
	var faultAnnotation bool
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			exprs = append(exprs, a.Expr)
			faultAnnotation = faultAnnotation || (slices.Contains(metricNames(a.Expr), prom.FaultActive) && a.Enable)
		}
	}
	if !faultAnnotation {
		t.Errorf("no enabled annotation queries %s: fault windows would not shade the panels", prom.FaultActive)
	}

	used := map[string]bool{}
	for _, expr := range exprs {
		ms := metricNames(expr)
		if len(ms) == 0 {
			t.Errorf("query %q names no metric", expr)
		}
		for _, name := range ms {
			used[name] = true
			typ, ok := names[name]
			if !ok {
				t.Errorf("query %q: %s is exported by neither the driver nor the server", expr, name)
				continue
			}
			rated := regexp.MustCompile(`\b(?:rate|irate|increase)\(\s*` + regexp.QuoteMeta(name) + `\b`).MatchString(expr)
			if rated && typ != dto.MetricType_COUNTER {
				t.Errorf("query %q: rate of %s, a %s", expr, name, typ)
			}
			if base, ok := strings.CutSuffix(name, "_bucket"); ok && names[base] != dto.MetricType_HISTOGRAM {
				t.Errorf("query %q: %s is not a histogram's buckets", expr, name)
			}
			if strings.Contains(expr, "histogram_quantile") && !strings.HasSuffix(name, "_bucket") {
				t.Errorf("query %q: histogram_quantile over %s, which has no buckets", expr, name)
			}
		}
	}

	// What the dashboard is for: the driver beside the server.
	for _, want := range []string{
		prom.RequestsTotal, prom.RequestSeconds + "_bucket", prom.IntendedSeconds + "_bucket", prom.InFlight, prom.ActiveUsers,
		prom.ArrivalsTotal, prom.LagSeconds + "_bucket", prom.FaultActive,
		"stampede_http_request_duration_seconds_count", "stampede_http_request_duration_seconds_bucket",
		"stampede_db_pool_wait_seconds_bucket", "stampede_db_conn_hold_seconds_bucket",
		"stampede_waiting_room_length", "stampede_waiting_room_admitted_total",
	} {
		if !used[want] {
			t.Errorf("no query uses %s", want)
		}
	}
}
