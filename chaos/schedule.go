package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"stampede/history"
	"stampede/internal/failpoint"
)

// Entry is one line of a scenario's `faults:` list.
type Entry struct {
	Fault string
	// At is the offset from the herd's start; with When, the earliest moment the trigger is armed.
	At time.Duration
	// For is how long a windowed fault lasts before it recovers.
	For time.Duration
	// When triggers the fault on an event in the server instead of at a time.
	When   *Trigger
	Params Params
}

// Trigger fires a fault when a server failpoint has been hit Hit times.
type Trigger struct {
	Failpoint string `json:"failpoint"`
	Hit       int64  `json:"hit"`
}

// ParseEntries validates a scenario's `faults:` list (each item a map, as YAML decodes it).
// Errors name the item and the field.
func ParseEntries(raw []map[string]any) ([]Entry, error) {
	var out []Entry
	for i, m := range raw {
		e, err := parseEntry(m)
		if err != nil {
			return nil, fmt.Errorf("faults[%d]: %w", i, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func parseEntry(m map[string]any) (Entry, error) {
	var e Entry
	name, _ := m["fault"].(string)
	if name == "" {
		return e, fmt.Errorf("fault: missing (one of %s)", strings.Join(names(), ", "))
	}
	_, spec, err := Lookup(name)
	if err != nil {
		return e, fmt.Errorf("fault: %w", err)
	}
	e.Fault = name
	params := Params{}
	for k, v := range m {
		switch k {
		case "fault":
		case "at", "for":
			d, err := asDuration(v)
			if err != nil {
				return e, fmt.Errorf("%s: %w", k, err)
			}
			if k == "at" {
				e.At = d
			} else {
				e.For = d
			}
		case "when":
			wm, ok := v.(map[string]any)
			if !ok {
				return e, fmt.Errorf("when: want {failpoint: NAME, hit: N}")
			}
			fp, _ := wm["failpoint"].(string)
			if !failpointKnown(fp) {
				return e, fmt.Errorf("when.failpoint: %q is not one of %s", fp, strings.Join(failpoint.Known, ", "))
			}
			hit, err := asInt(wm["hit"])
			if err != nil || hit < 1 {
				return e, fmt.Errorf("when.hit: want a positive integer, got %v", wm["hit"])
			}
			for k := range wm {
				if k != "failpoint" && k != "hit" {
					return e, fmt.Errorf("when.%s: unknown field (want failpoint and hit)", k)
				}
			}
			e.When = &Trigger{Failpoint: fp, Hit: hit}
		default:
			params[k] = fmt.Sprint(v)
		}
	}
	if _, ok := m["at"]; !ok && e.When == nil {
		return e, fmt.Errorf("at: missing (an offset like 20s, or a when: trigger)")
	}
	if spec.Window && e.For <= 0 {
		return e, fmt.Errorf("for: %s lasts a window; give its length (for: 10s)", name)
	}
	if !spec.Window && e.For > 0 {
		return e, fmt.Errorf("for: %s is instantaneous and takes no window", name)
	}
	if e.Params, err = spec.resolve(params); err != nil {
		return e, err
	}
	return e, nil
}

func asDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		d, err := time.ParseDuration(x)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("want a duration like 20s, got %q", x)
		}
		return d, nil
	case int, int64, uint64, float64:
		return 0, fmt.Errorf("want a duration with a unit like 20s, got %v", x)
	}
	return 0, fmt.Errorf("want a duration like 20s, got %v", v)
}

func asInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		return int64(x), nil
	case float64:
		if x == float64(int64(x)) {
			return int64(x), nil
		}
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("not an integer: %v", v)
}

func failpointKnown(name string) bool {
	for _, k := range failpoint.Known {
		if k == name {
			return true
		}
	}
	return false
}

func names() []string {
	var out []string
	for _, s := range Specs() {
		out = append(out, s.Name)
	}
	return out
}

// Recorder receives the fault records of a run (a *history.Writer).
type Recorder interface {
	Write(r *history.Record) error
}

// Window is what happened to one entry: when it was injected and recovered, in nanoseconds on
// the run's clock, and the error if it could not be. A server-crash at a failpoint happens
// when the server reaches the point, before the schedule notices: its Start is the last
// moment the schedule saw the server alive, so the window holds the crash.
type Window struct {
	Entry Entry
	Start int64
	End   int64
	Err   error
}

// Schedule runs entries against a run's clock.
type Schedule struct {
	Entries []Entry
	Target  *Target
	// Clock is the run's monotonic clock: nanoseconds since the herd's start.
	Clock func() int64
	// Record receives a fault-start record at injection and a fault-end record at recovery.
	Record Recorder
	// Poll is how often failpoint triggers are checked; 0 means 20 ms.
	Poll time.Duration
}

// Run injects every entry at its moment, waits for every window to end, and returns what
// happened, in entry order. Cancelling ctx recovers the faults still active and returns.
func (s *Schedule) Run(ctx context.Context) []Window {
	out := make([]Window, len(s.Entries))
	var wg sync.WaitGroup
	for i, e := range s.Entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.run(ctx, e)
		}()
	}
	wg.Wait()
	return out
}

func (s *Schedule) run(ctx context.Context, e Entry) Window {
	w := Window{Entry: e}
	f, _, err := Lookup(e.Fault)
	if err != nil {
		w.Err = err
		return w
	}
	if err := s.sleepUntil(ctx, e.At.Nanoseconds()); err != nil {
		w.Err = fmt.Errorf("%s: not injected: %w", e.Fault, err)
		return w
	}
	var alive int64
	if e.When != nil {
		var err error
		if alive, err = s.waitTrigger(ctx, e); err != nil {
			w.Err = fmt.Errorf("%s: trigger %s#%d: %w", e.Fault, e.When.Failpoint, e.When.Hit, err)
			return w
		}
	}
	w.Start = s.Clock()
	if e.When != nil && e.Fault == "server-crash" {
		w.Start = alive
	}
	recover, err := f.Inject(ctx, s.Target, e.Params)
	if e.When != nil && e.Fault != "server-crash" {
		// Requests parked at the failpoint go on now that the fault is in place.
		_ = s.disarm(context.WithoutCancel(ctx), e.When.Failpoint)
	}
	s.record(history.KindFaultStart, e, w.Start, w.Start, err)
	if err != nil {
		w.Err = err
		w.End = s.Clock()
		s.record(history.KindFaultEnd, e, w.Start, w.End, err)
		return w
	}
	if recover != nil {
		_ = s.sleepUntil(ctx, w.Start+e.For.Nanoseconds()) // on cancel, recover at once
		w.Err = recover(context.WithoutCancel(ctx))
	}
	w.End = s.Clock()
	s.record(history.KindFaultEnd, e, w.Start, w.End, w.Err)
	return w
}

// record writes a fault record. A fault triggered at a failpoint names it in its parameters
// (history.ParamFailpoint), so the checker knows the window caught requests at that point.
func (s *Schedule) record(kind history.Kind, e Entry, call, ret int64, err error) {
	if s.Record == nil {
		return
	}
	params := e.Params
	_, spec, _ := Lookup(e.Fault)
	linger := kind == history.KindFaultEnd && spec.Lingers != "" && e.Params[spec.Lingers] != ""
	if e.When != nil || linger {
		params = make(Params, len(e.Params)+2)
		for k, v := range e.Params {
			params[k] = v
		}
		if e.When != nil {
			params[history.ParamFailpoint] = e.When.Failpoint
		}
		if linger {
			params[history.ParamLinger] = e.Params[spec.Lingers]
		}
	}
	r := &history.Record{Client: -1, Op: kind, Call: call, Ret: ret, Type: history.Ok,
		In: history.Input{Fault: e.Fault, Params: params}}
	if err != nil {
		r.Type = history.Fail
		r.Out.Error = err.Error()
	}
	_ = s.Record.Write(r) // a history write error surfaces from the writer's Close
}

func (s *Schedule) sleepUntil(ctx context.Context, at int64) error {
	d := time.Duration(at - s.Clock())
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitTrigger arms the failpoint and polls its hit count. For server-crash the server kills
// itself at the hit (so the crash lands exactly there) and the wait ends when it is gone; for
// other faults the point blocks requests from the hit on until the fault is in place. It
// returns the moment the last poll that found the server alive was sent (the crash came after).
func (s *Schedule) waitTrigger(ctx context.Context, e Entry) (int64, error) {
	if s.Target.Server == "" {
		return 0, unsupported(e.Fault, "failpoint triggers need the reference server's admin endpoint")
	}
	a := failpoint.Action{Kind: failpoint.Block, From: e.When.Hit}
	if e.Fault == "server-crash" {
		a = failpoint.Action{Kind: failpoint.Crash, From: e.When.Hit, Times: 1}
	}
	body, _ := json.Marshal(a)
	alive := s.Clock()
	if err := s.Target.put(ctx, s.Target.Server+"/admin/failpoints/"+e.When.Failpoint, body); err != nil {
		return 0, err
	}
	poll := s.Poll
	if poll <= 0 {
		poll = 20 * time.Millisecond
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil {
			if e.Fault == "server-crash" {
				if s.crashedAtEnd(context.WithoutCancel(ctx), e.When.Failpoint) {
					return alive, nil
				}
			} else {
				_ = s.disarm(context.WithoutCancel(ctx), e.When.Failpoint)
			}
			return 0, ctx.Err()
		}
		polled := s.Clock()
		hits, err := s.hits(ctx, e.When.Failpoint)
		if ctx.Err() != nil {
			continue // the run ended during the poll, which says nothing of the server: see above
		}
		if err != nil && e.Fault == "server-crash" {
			return alive, nil // the server is gone: it crashed at the point
		}
		if err == nil {
			alive = polled
			if hits >= e.When.Hit {
				return alive, nil
			}
		}
	}
}

// crashedAtEnd says, for a server-crash whose run ended (ctx done) before a poll saw the
// server reach its failpoint, whether the server is gone: it disarms the point and asks for
// the hits once more, and an error of either means the server killed itself there (in the
// last poll interval, or while the disarm was on its way, as a checkout still running past
// its client's timeout reached the point). Such a crash must still be recorded and the server
// started again: a run left without a server cannot settle or read its ledger, and reports
// the crash it asked for as the server dying on its own.
func (s *Schedule) crashedAtEnd(ctx context.Context, name string) bool {
	if err := s.disarm(ctx, name); err != nil {
		return true
	}
	_, err := s.hits(ctx, name)
	return err != nil
}

func (s *Schedule) hits(ctx context.Context, name string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Target.Server+"/admin/failpoints", nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.Target.do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /admin/failpoints: %s", resp.Status)
	}
	var list []failpoint.Status
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil {
		return 0, fmt.Errorf("GET /admin/failpoints: %w", err)
	}
	for _, p := range list {
		if p.Name == name {
			return p.Hits, nil
		}
	}
	return 0, errors.New("failpoint not armed")
}

// disarm removes the failpoint's action from the server. The error is for a server that did
// not answer, or answered with an error status.
func (s *Schedule) disarm(ctx context.Context, name string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.Target.Server+"/admin/failpoints/"+name, nil)
	if err != nil {
		return err
	}
	resp, err := s.Target.do(req)
	if err != nil {
		return fmt.Errorf("DELETE /admin/failpoints/%s: %w", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("DELETE /admin/failpoints/%s: %s", name, resp.Status)
	}
	return nil
}

// Describe writes every fault with its parameters, for `stampede chaos list`.
func Describe(w io.Writer) error {
	var b strings.Builder
	for _, s := range Specs() {
		kind := "instant"
		if s.Window {
			kind = "window (for: DURATION)"
		}
		fmt.Fprintf(&b, "%s  [%s]\n    %s\n    needs: %s\n", s.Name, kind, s.About, s.Needs)
		if s.Lingers != "" {
			fmt.Fprintf(&b, "    lingers: %s after the window (what it slowed answers that late; the SLOs' calm latencies leave it out)\n", s.Lingers)
		}
		ps := append([]Param(nil), s.Params...)
		sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
		for _, p := range ps {
			fmt.Fprintf(&b, "    %-13s %-8s default %-6s %s\n", p.Name, p.Kind, orDash(p.Default), p.About)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Every fault takes at: OFFSET, or when: {failpoint: NAME, hit: N} with NAME one of\n    %s\n",
		strings.Join(failpoint.Known, ", "))
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
