package workloads

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// DefaultHeartbeat is how often a run without a terminal (CI) prints a progress line.
const DefaultHeartbeat = 10 * time.Second

// lines is a run's progress output (Config.Progress): whole lines, printed above the live
// display while one is shown so that neither garbles the other. Safe for concurrent use; a nil
// writer discards everything.
type lines struct {
	mu   sync.Mutex
	w    io.Writer
	live *mpb.Progress // the live display, while it is shown
}

func (l *lines) printf(format string, args ...any) {
	if l == nil || l.w == nil {
		return
	}
	s := fmt.Sprintf(format, args...)
	if len(s) == 0 || s[len(s)-1] != '\n' {
		s += "\n"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.live != nil {
		if _, err := io.WriteString(l.live, s); err == nil {
			return
		}
		// The display has just ended: write below it.
	}
	_, _ = io.WriteString(l.w, s)
}

func (l *lines) setLive(p *mpb.Progress) {
	l.mu.Lock()
	l.live = p
	l.mu.Unlock()
}

// Printf writes a line to the run's progress output (Config.Progress), above the live display
// while one is shown, so that a runner's messages (a fault injected, a fault recovered) never
// land in the middle of it. A newline is added when the line has none. It is safe to call from
// any goroutine, before, during and after Run; without Progress it does nothing.
func (d *Driver) Printf(format string, args ...any) { d.out.printf(format, args...) }

// progress shows a run as it goes: on a terminal, a live display of users arrived out of
// planned, the elapsed and remaining time of the arrival schedule, the request rate of the last
// second, requests in flight, outcomes and the last second's p99; without one (CI, a file), the
// same as a line every heartbeat.
type progress struct {
	d    *Driver
	p    *mpb.Progress
	bar  *mpb.Bar
	quit chan struct{}
	done chan struct{}
}

// interactive reports whether w is a terminal and the run is not in CI.
func interactive(w io.Writer) bool {
	if w == nil || os.Getenv("CI") == "true" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// startProgress starts the live display on a terminal, the heartbeat lines elsewhere, or
// nothing without a Progress writer (or with a negative Heartbeat and no terminal).
func startProgress(d *Driver, users int) *progress {
	pr := &progress{d: d, quit: make(chan struct{}), done: make(chan struct{})}
	w := d.cfg.Progress
	every := d.cfg.Heartbeat
	if every == 0 {
		every = DefaultHeartbeat
	}
	switch {
	case interactive(w):
		pr.p = mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(250*time.Millisecond), mpb.WithWidth(32))
		pr.bar = pr.p.AddBar(int64(users),
			mpb.PrependDecorators(decor.Name("users "), decor.CountersNoUnit("%d/%d")),
			mpb.AppendDecorators(
				decor.Any(func(decor.Statistics) string { return d.clockStatus(users) }),
				decor.Name("  "),
				decor.Any(func(decor.Statistics) string { return d.outcomeStatus() }),
			),
		)
		d.out.setLive(pr.p)
		go pr.loop(200*time.Millisecond, func() { pr.bar.SetCurrent(d.rec.arrived.Load() + d.rec.dropped.Load()) })
	case w != nil && every > 0:
		go pr.loop(every, func() {
			d.out.printf("%s  users %d/%d  %s", d.clockStatus(users), d.rec.arrived.Load()+d.rec.dropped.Load(), users, d.outcomeStatus())
		})
	default:
		close(pr.done)
	}
	return pr
}

// loop calls fn every interval until stop.
func (pr *progress) loop(interval time.Duration, fn func()) {
	defer close(pr.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-pr.quit:
			return
		case <-t.C:
			fn()
		}
	}
}

// stop ends the display (its last state stays on the terminal, on a line of its own) or the
// heartbeat.
func (pr *progress) stop() {
	close(pr.quit)
	<-pr.done
	if pr.p == nil {
		return
	}
	pr.bar.SetTotal(-1, true)
	pr.p.Wait()
	pr.d.out.setLive(nil)
}

// clockStatus is the run's time: elapsed and what is left of the arrival schedule, never
// negative; once every user has arrived (or the schedule is over), "draining" with the users
// still running.
func (d *Driver) clockStatus(users int) string {
	b, ok := d.Began()
	if !ok {
		return "setting up"
	}
	el := time.Duration(d.clock.Now()) - b
	var span time.Duration
	if prof, ok := d.plan.pacer.(*Profile); ok {
		span = prof.Duration()
	}
	dispatched := d.rec.arrived.Load() + d.rec.dropped.Load()
	if dispatched >= int64(users) || (span > 0 && el >= span) {
		return fmt.Sprintf("%s, draining %d users", el.Round(time.Second), d.rec.active.Load())
	}
	if span <= 0 {
		return el.Round(time.Second).String()
	}
	return fmt.Sprintf("%s, %s left", el.Round(time.Second), (span - el).Round(time.Second))
}

// outcomeStatus is the last second's request rate and p99, requests in flight and the outcomes
// so far, refusals (the contract's business answers: the seat was taken, sold out) apart from
// failures.
func (d *Driver) outcomeStatus() string {
	l := d.rec.lastLine()
	ok, refused, fail, info, shed := d.rec.outcomes()
	p99 := 0.0
	for _, op := range l.Ops {
		p99 = max(p99, op.P99Intended)
	}
	return fmt.Sprintf("%.0f req/s  in-flight %d  ok %d refused %d fail %d info %d shed %d  p99 %.0fms  lag %.0fms",
		l.Rate, d.client.inFlight.Load(), ok, refused, fail, info, shed, p99, l.LagP99)
}

// outcomes counts the records so far: ok; refused, a fail that is a business outcome of the
// contract (businessCodes); fail, every other fail; info; and shed (the target's 503
// overloaded, counted apart).
func (r *recorder) outcomes() (ok, refused, fail, info, shed int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.total {
		hard := s.errors - s.info // the fails that count as errors
		ok += s.ok
		refused += s.fail - hard
		fail += hard
		info += s.info
		shed += s.shed
	}
	return ok, refused, fail, info, shed
}
