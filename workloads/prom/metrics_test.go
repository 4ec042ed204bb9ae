package prom

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"stampede/history"
	"stampede/workloads"
)

// browsers is a herd of n one-page browsers arriving at 300/s: one request per user.
func browsers(tb testing.TB, n int) *workloads.Scenario {
	tb.Helper()
	sc, err := workloads.Parse("live.yaml", []byte(`name: live
inventory: {sections: 1, rows: 1, seats_per_row: 5}
arrivals: {profile: constant, rate: 300/s, users: `+strconv.Itoa(n)+`}
users: [{flow: browse, pages: 1}]
request_timeout: 30s
`))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return sc
}

// scrape fetches url's metrics in the text format.
func scrape(tb testing.TB, url string) map[string]*dto.MetricFamily {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("parse the metrics of %s: %v", url, err)
	}
	return fams
}

// series returns the metric of family name whose labels include want, or nil.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is the value of a counter or gauge series, or -1 when it is missing.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	m := series(fams, name, labels)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return -1
}

// live starts metrics on a fresh registry and serves them; it returns the metrics and the URL
// to scrape.
func live(tb testing.TB) (*Metrics, string) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	ep, err := Listen("127.0.0.1:0", reg)
	if err != nil {
		tb.Fatalf("Listen: %v", err)
	}
	tb.Cleanup(func() {
		if err := ep.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return m, "http://" + ep.Addr() + "/metrics"
}

// TestLiveMetrics drives a small herd at a stub whose answers rotate through a success, a
// refusal and an unknown outcome, with a fault window around it, and scrapes /metrics.
func TestLiveMetrics(t *testing.T) {
	var n atomic.Int64
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch n.Add(1) % 3 {
		case 0:
			w.Write([]byte(`{}`))
		case 1:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"event_not_found","message":"no"}}`))
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":{"code":"unavailable","message":"later"}}`))
		}
	}))
	t.Cleanup(stub.Close)
	m, url := live(t)

	before := scrape(t, url)
	for _, o := range []string{"ok", "fail", "info"} {
		if v := value(before, RequestsTotal, map[string]string{"op": "hold", "outcome": o}); v != 0 {
			t.Errorf("before the run, %s{op=hold,outcome=%s} = %v, want a series at 0", RequestsTotal, o, v)
		}
	}
	if v := value(before, InFlight, nil); v != 0 {
		t.Errorf("before the run, %s = %v, want 0", InFlight, v)
	}

	const users = 60
	d, err := workloads.New(workloads.Config{Scenario: browsers(t, users), Target: stub.URL, Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	now := d.Clock().Now()
	fault := func(op history.Kind, name string, at int64, typ history.Type) {
		t.Helper()
		if err := d.Annotate(&history.Record{Op: op, Call: at, Ret: at, Type: typ, In: history.Input{Fault: name}}); err != nil {
			t.Fatal(err)
		}
	}
	fault(history.KindFaultStart, "redis-restart", now, history.Ok)
	fault(history.KindFaultStart, "psp-delay", now, history.Ok)
	fault(history.KindFaultStart, "net-partition", now, history.Fail) // not injected: no window
	fault(history.KindFaultEnd, "net-partition", now, history.Fail)
	sum, err := d.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fault(history.KindFaultEnd, "psp-delay", now, history.Ok)

	fams := scrape(t, url)
	browse := sum.Ops["browse"]
	if browse == nil || browse.Requests != users {
		t.Fatalf("summary ops %+v, want %d browse requests", sum.Ops, users)
	}
	for o, want := range map[string]int64{"ok": browse.Outcomes.Ok, "fail": browse.Outcomes.Fail, "info": browse.Outcomes.Info} {
		if want == 0 {
			t.Errorf("summary has no %s outcome: the stub should give each", o)
		}
		if got := value(fams, RequestsTotal, map[string]string{"op": "browse", "outcome": o}); got != float64(want) {
			t.Errorf("%s{op=browse,outcome=%s} = %v, want %d as in the summary", RequestsTotal, o, got, want)
		}
	}
	for _, name := range []string{RequestSeconds, IntendedSeconds} {
		h := series(fams, name, map[string]string{"op": "browse"}).GetHistogram()
		if h.GetSampleCount() != users || h.GetSampleSum() <= 0 {
			t.Errorf("%s{op=browse}: count %d sum %v, want %d requests with a positive sum", name, h.GetSampleCount(), h.GetSampleSum(), users)
		}
	}
	actual := series(fams, RequestSeconds, map[string]string{"op": "browse"}).GetHistogram().GetSampleSum()
	intended := series(fams, IntendedSeconds, map[string]string{"op": "browse"}).GetHistogram().GetSampleSum()
	if intended < actual {
		t.Errorf("intended latency sum %v < actual %v: a request cannot be answered before it was sent", intended, actual)
	}
	if v := value(fams, ArrivalsTotal, map[string]string{"result": "started"}); v != users {
		t.Errorf("%s{result=started} = %v, want %d", ArrivalsTotal, v, users)
	}
	if v := value(fams, ArrivalsTotal, map[string]string{"result": "dropped"}); v != 0 {
		t.Errorf("%s{result=dropped} = %v, want 0", ArrivalsTotal, v)
	}
	if lag := series(fams, LagSeconds, nil).GetHistogram(); lag.GetSampleCount() != users {
		t.Errorf("%s count %d, want one per arrival (%d)", LagSeconds, lag.GetSampleCount(), users)
	}
	for _, g := range []string{InFlight, ActiveUsers} {
		if v := value(fams, g, nil); v != 0 {
			t.Errorf("after the run %s = %v, want 0", g, v)
		}
	}
	faults := map[string]float64{"redis-restart": 1, "psp-delay": 0, "net-partition": -1}
	for f, want := range faults {
		if got := value(fams, FaultActive, map[string]string{"fault": f}); got != want {
			t.Errorf("%s{fault=%s} = %v, want %v (-1: no series)", FaultActive, f, got, want)
		}
	}
}

// TestLiveGauges holds the first users' requests at the stub and scrapes while they wait:
// requests in flight, users running and arrivals dropped beyond MaxActive.
func TestLiveGauges(t *testing.T) {
	const held, users = 5, 20
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(stub.Close)
	m, url := live(t)
	d, err := workloads.New(workloads.Config{Scenario: browsers(t, users), Target: stub.URL, Observer: m, MaxActive: held})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var sum *workloads.Summary
	go func() {
		var err error
		sum, err = d.Run(context.Background())
		done <- err
	}()

	// Every arrival has happened once held have started and the rest were dropped.
	deadline := time.Now().Add(20 * time.Second)
	var fams map[string]*dto.MetricFamily
	for {
		fams = scrape(t, url)
		if value(fams, ArrivalsTotal, map[string]string{"result": "dropped"}) == users-held &&
			value(fams, InFlight, nil) == held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %v dropped, %v in flight; want %d and %d", value(fams, ArrivalsTotal, map[string]string{"result": "dropped"}),
				value(fams, InFlight, nil), users-held, held)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := value(fams, ActiveUsers, nil); v != held {
		t.Errorf("while %d requests wait, %s = %v, want %d", held, ActiveUsers, v, held)
	}
	if v := value(fams, ArrivalsTotal, map[string]string{"result": "started"}); v != held {
		t.Errorf("%s{result=started} = %v, want %d", ArrivalsTotal, v, held)
	}
	unblock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, url)
	for _, g := range []string{InFlight, ActiveUsers} {
		if v := value(fams, g, nil); v != 0 {
			t.Errorf("after the run %s = %v, want 0", g, v)
		}
	}
	if got := value(fams, RequestsTotal, map[string]string{"op": "browse", "outcome": "ok"}); got != float64(sum.Requests) || got != held {
		t.Errorf("%s{op=browse,outcome=ok} = %v; the summary has %d requests; want %d", RequestsTotal, got, sum.Requests, held)
	}
}

func TestNewRefusesASecondOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg); err == nil {
		t.Error("a second New on one registry succeeded; its metrics would silently be lost")
	}
	// Runs kept apart by a label, every one of them wrapped.
	reg = prometheus.NewRegistry()
	for _, run := range []string{"1", "2"} {
		if _, err := New(prometheus.WrapRegistererWith(prometheus.Labels{"run": run}, reg)); err != nil {
			t.Errorf("New on the registry wrapped with run=%s: %v", run, err)
		}
	}
}

func TestListenRefusesABusyAddress(t *testing.T) {
	reg := prometheus.NewRegistry()
	ep, err := Listen("127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	if _, err := Listen(ep.Addr(), reg); err == nil || !strings.Contains(err.Error(), ep.Addr()) {
		t.Errorf("Listen on a busy %s = %v, want an error naming the address", ep.Addr(), err)
	}
}
