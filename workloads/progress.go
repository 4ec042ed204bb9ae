package workloads

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progress is the live display of a run on a terminal: users arrived out of planned, the
// request rate of the last second, requests in flight, outcomes, the last second's p99 and
// driver lag, and the elapsed and remaining time of the arrival schedule.
type progress struct {
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

// startProgress starts the display, or a no-op when w is not interactive.
func startProgress(w io.Writer, d *Driver, users int) *progress {
	if !interactive(w) {
		return &progress{}
	}
	var span time.Duration
	if prof, ok := d.plan.pacer.(*Profile); ok {
		span = prof.Duration()
	}
	p := mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(250*time.Millisecond), mpb.WithWidth(32))
	status := func(decor.Statistics) string {
		l := d.rec.lastLine()
		ok, fail, info, shed := d.rec.totals()
		p99 := 0.0
		for _, op := range l.Ops {
			p99 = max(p99, op.P99Intended)
		}
		return fmt.Sprintf("%6.0f req/s  in-flight %-5d ok %d fail %d info %d shed %d  p99 %.0fms  lag %.0fms",
			l.Rate, d.client.inFlight.Load(), ok, fail, info, shed, p99, l.LagP99)
	}
	clockInfo := func(decor.Statistics) string {
		b, _ := d.Began()
		el := time.Duration(d.clock.Now()) - b
		rem := max(span-el, 0)
		return fmt.Sprintf("%s / -%s", el.Round(time.Second), rem.Round(time.Second))
	}
	bar := p.AddBar(int64(users),
		mpb.PrependDecorators(decor.Name("users "), decor.CountersNoUnit("%d/%d")),
		mpb.AppendDecorators(decor.Any(clockInfo), decor.Name("  "), decor.Any(status)),
	)
	pr := &progress{p: p, bar: bar, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(pr.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-pr.quit:
				return
			case <-t.C:
				bar.SetCurrent(d.rec.arrived.Load() + d.rec.dropped.Load())
			}
		}
	}()
	return pr
}

// stop ends the display.
func (pr *progress) stop() {
	if pr.p == nil {
		return
	}
	close(pr.quit)
	<-pr.done
	pr.bar.SetTotal(-1, true)
	pr.p.Wait()
}
