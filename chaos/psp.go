package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

var (
	pspDelaySpec = Spec{
		Name:     "psp-delay",
		About:    "payment answers are delayed: slower than the hold TTL, holds expire mid-payment",
		Needs:    "the processor's admin endpoint",
		Window:   true,
		Payments: true,
		Lingers:  "delay",
		Params: []Param{
			{Name: "delay", Kind: "duration", Default: "5s", About: "added to each delayed processor answer"},
			{Name: "rate", Kind: "float", Default: "1", About: "fraction of answers delayed, chosen with the run's seed"},
		},
	}
	pspErrorsSpec = Spec{
		Name:     "psp-errors",
		About:    "the processor answers 500 (nothing charged) or hangs past any deadline (nothing charged)",
		Needs:    "the processor's admin endpoint",
		Window:   true,
		Payments: true,
		Params: []Param{
			{Name: "error_rate", Kind: "float", Default: "0.3", About: "fraction of requests answered 500"},
			{Name: "timeout_rate", Kind: "float", Default: "0.1", About: "fraction of requests held past the deadline"},
		},
	}
	pspAmbiguousSpec = Spec{
		Name:     "psp-ambiguous",
		About:    "the processor charges, then drops the connection without an answer: the caller cannot know",
		Needs:    "the processor's admin endpoint",
		Window:   true,
		Payments: true,
		Params:   []Param{{Name: "rate", Kind: "float", Default: "0.3", About: "fraction of charges whose answer is lost"}},
	}
)

// pspSettings is the processor's PUT /admin/faults body (psp.yaml).
type pspSettings struct {
	LatencyMs        int64    `json:"latency_ms"`
	LatencyRate      *float64 `json:"latency_rate,omitempty"`
	ErrorRate        float64  `json:"error_rate"`
	TimeoutRate      float64  `json:"timeout_rate"`
	LostResponseRate float64  `json:"lost_response_rate"`
	Seed             uint64   `json:"seed"`
}

// pspFault switches the processor's failure modes for a window. Overlapping processor faults
// are merged: the target keeps each one's settings and sends their combination.
type pspFault struct{ name string }

func (f pspFault) Name() string { return f.name }

func (f pspFault) Inject(ctx context.Context, t *Target, p Params) (func(context.Context) error, error) {
	if t.PSP == "" {
		return nil, unsupported(f.name, "no payment processor URL")
	}
	var s pspSettings
	switch f.name {
	case "psp-delay":
		s.LatencyMs = p.Duration("delay").Milliseconds()
		if r := p.Float("rate"); r < 1 {
			s.LatencyRate = &r
		}
	case "psp-errors":
		s.ErrorRate, s.TimeoutRate = p.Float("error_rate"), p.Float("timeout_rate")
	case "psp-ambiguous":
		s.LostResponseRate = p.Float("rate")
	}
	t.mu.Lock()
	if t.psp == nil {
		t.psp = map[string]pspSettings{}
	}
	t.psp[f.name] = s
	t.mu.Unlock()
	if err := t.putPSP(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	return func(ctx context.Context) error {
		t.mu.Lock()
		delete(t.psp, f.name)
		t.mu.Unlock()
		if err := t.putPSP(ctx); err != nil {
			return fmt.Errorf("%s: recover: %w", f.name, err)
		}
		return nil
	}, nil
}

// putPSP sends the merged processor settings, with a seed drawn from the run's seed so the
// processor's choices of which requests fail repeat.
func (t *Target) putPSP(ctx context.Context) error {
	var m pspSettings
	t.mu.Lock()
	for _, s := range t.psp {
		m.LatencyMs = max(m.LatencyMs, s.LatencyMs)
		if s.LatencyRate != nil {
			m.LatencyRate = s.LatencyRate
		}
		m.ErrorRate = max(m.ErrorRate, s.ErrorRate)
		m.TimeoutRate = max(m.TimeoutRate, s.TimeoutRate)
		m.LostResponseRate = max(m.LostResponseRate, s.LostResponseRate)
	}
	t.mu.Unlock()
	m.Seed = t.randUint64() >> 1 // the processor reads a signed integer
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return t.put(ctx, t.PSP+"/admin/faults", body)
}

func (t *Target) put(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.do(req)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
