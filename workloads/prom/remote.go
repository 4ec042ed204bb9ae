package prom

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// DefaultPushEvery is how often a Pusher sends the registry's samples by default.
const DefaultPushEvery = 5 * time.Second

// Pusher sends what a registry gathers to a Prometheus remote-write endpoint (protocol 2.0,
// through client_golang's remote API), for a driver that no Prometheus can scrape: a pod that
// ends before the next scrape, a machine behind NAT. Counters and gauges become one series
// each, histograms their classic _bucket (with le), _sum and _count series, every series with
// the metric's type and help. Create it with NewPusher; Run pushes until its context ends.
type Pusher struct {
	api   *remote.API
	g     prometheus.Gatherer
	every time.Duration
	now   func() time.Time
}

// NewPusher sends g's samples to endpoint, the full URL of the receiver's write path (for a
// Prometheus started with --web.enable-remote-write-receiver, http://HOST:9090/api/v1/write)
// every interval (DefaultPushEvery when 0).
func NewPusher(endpoint string, g prometheus.Gatherer, every time.Duration) (*Pusher, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote write endpoint %q: want an http:// or https:// URL", endpoint)
	}
	api, err := remote.NewAPI(endpoint, remote.WithAPIPath(""), remote.WithAPIBackoff(remote.BackoffConfig{Min: 200 * time.Millisecond, Max: 2 * time.Second, MaxRetries: 2}))
	if err != nil {
		return nil, fmt.Errorf("remote write endpoint %q: %w", endpoint, err)
	}
	if every <= 0 {
		every = DefaultPushEvery
	}
	return &Pusher{api: api, g: g, every: every, now: time.Now}, nil
}

// Run pushes every interval until ctx ends, then once more so that the last figures arrive,
// and returns the first push error (a receiver that is down fails each push; Run goes on).
func (p *Pusher) Run(ctx context.Context) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			keep(p.Push(final))
			cancel()
			return first
		case <-t.C:
			keep(p.Push(ctx))
		}
	}
}

// Push gathers the registry and sends its samples once.
func (p *Pusher) Push(ctx context.Context) error {
	fams, err := p.g.Gather()
	if err != nil {
		return fmt.Errorf("remote write: gather: %w", err)
	}
	req := request(fams, p.now().UnixMilli())
	if _, err := p.api.Write(ctx, remote.WriteV2MessageType, req); err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	return nil
}

// request turns gathered families into one remote-write 2.0 request, every sample at ts (ms).
func request(fams []*dto.MetricFamily, ts int64) *writev2.Request {
	syms := writev2.NewSymbolTable()
	var series []*writev2.TimeSeries
	for _, f := range fams {
		typ := writev2.Metadata_METRIC_TYPE_UNSPECIFIED
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			typ = writev2.Metadata_METRIC_TYPE_COUNTER
		case dto.MetricType_GAUGE:
			typ = writev2.Metadata_METRIC_TYPE_GAUGE
		case dto.MetricType_HISTOGRAM:
			typ = writev2.Metadata_METRIC_TYPE_HISTOGRAM
		case dto.MetricType_SUMMARY:
			typ = writev2.Metadata_METRIC_TYPE_SUMMARY
		}
		meta := &writev2.Metadata{Type: typ, HelpRef: syms.Symbolize(f.GetHelp())}
		add := func(name string, labels []*dto.LabelPair, extra []string, v float64) {
			lbls := []string{"__name__", name}
			for _, l := range labels {
				lbls = append(lbls, l.GetName(), l.GetValue())
			}
			lbls = append(lbls, extra...)
			series = append(series, &writev2.TimeSeries{LabelsRefs: syms.SymbolizeLabels(sortedPairs(lbls), nil),
				Samples: []*writev2.Sample{{Value: v, Timestamp: ts}}, Metadata: meta})
		}
		name := f.GetName()
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				add(name, m.GetLabel(), nil, m.GetCounter().GetValue())
			case m.GetGauge() != nil:
				add(name, m.GetLabel(), nil, m.GetGauge().GetValue())
			case m.GetUntyped() != nil:
				add(name, m.GetLabel(), nil, m.GetUntyped().GetValue())
			case m.GetHistogram() != nil:
				h := m.GetHistogram()
				inf := false
				for _, b := range h.GetBucket() {
					inf = inf || math.IsInf(b.GetUpperBound(), 1)
					add(name+"_bucket", m.GetLabel(), []string{"le", formatLe(b.GetUpperBound())}, float64(b.GetCumulativeCount()))
				}
				if !inf {
					add(name+"_bucket", m.GetLabel(), []string{"le", "+Inf"}, float64(h.GetSampleCount()))
				}
				add(name+"_sum", m.GetLabel(), nil, h.GetSampleSum())
				add(name+"_count", m.GetLabel(), nil, float64(h.GetSampleCount()))
			case m.GetSummary() != nil:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					add(name, m.GetLabel(), []string{"quantile", strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)}, q.GetValue())
				}
				add(name+"_sum", m.GetLabel(), nil, s.GetSampleSum())
				add(name+"_count", m.GetLabel(), nil, float64(s.GetSampleCount()))
			}
		}
	}
	return &writev2.Request{Symbols: syms.Symbols(), Timeseries: series}
}

// sortedPairs sorts name/value pairs by name, as remote write wants a series' labels.
func sortedPairs(kv []string) []string {
	type pair struct{ k, v string }
	ps := make([]pair, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, pair{kv[i], kv[i+1]})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].k < ps[j].k })
	out := make([]string, 0, len(kv))
	for _, p := range ps {
		out = append(out, p.k, p.v)
	}
	return out
}

func formatLe(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
