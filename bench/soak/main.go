package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// resource is one thing the soak watches: the metric family of the server's /metrics it reads
// and how much growth over the soak is tolerated.
type resource struct {
	name, metric, unit string
	th                 Threshold
}

// resources are watched in this order; share is 20% of the mean, floors are noise.
var resources = []resource{
	{"goroutines", "go_goroutines", "", Threshold{Share: 0.2, Floor: 50}},
	{"heap in use", "go_memstats_heap_inuse_bytes", "MiB", Threshold{Share: 0.2, Floor: 32 << 20}},
	{"open fds", "process_open_fds", "", Threshold{Share: 0.2, Floor: 20}},
	{"db connections", "stampede_db_pool_open_connections", "", Threshold{Share: 0.2, Floor: 5}},
}

func main() {
	var (
		stampede = flag.String("stampede", "bin/stampede", "the stampede executable")
		scenario = flag.String("scenario", "scenarios/soak.yaml", "the soak scenario: its faults are one cycle, repeated")
		duration = flag.Duration("duration", 10*time.Minute, "how long the herd runs")
		interval = flag.Duration("interval", 10*time.Second, "how often the server is sampled")
		cycle    = flag.Duration("cycle", 2*time.Minute, "the faults of the scenario repeat this often")
		out      = flag.String("out", "bin/soak", "where the samples, the table and the run go")
		strategy = flag.String("strategy", "status-expiry", "the strategy of the reference server")
		db       = flag.String("db", "postgres", "the database: postgres or mysql")
	)
	flag.Parse()
	if err := soak(*stampede, *scenario, *out, *strategy, *db, *duration, *interval, *cycle); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// sample is one reading of every resource, at T seconds since the first.
type sample struct {
	T      float64
	Values []float64
}

func soak(stampede, scenarioPath, out, strategy, db string, duration, interval, cycle time.Duration) error {
	if duration < 2*cycle || duration < 8*interval {
		return fmt.Errorf("duration %s: want at least two fault cycles of %s and 8 intervals of %s, to fit the floor over the second half", duration, cycle, interval)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	sc, err := stretch(scenarioPath, duration, cycle)
	if err != nil {
		return err
	}
	scPath := filepath.Join(out, "soak-scenario.yaml")
	if err := os.WriteFile(scPath, sc, 0o644); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The herd, then settling and checking: bounded well past the duration.
	ctx, cancel := context.WithTimeout(ctx, duration+15*time.Minute)
	defer cancel()
	runDir := filepath.Join(out, "run")
	logf, err := os.Create(filepath.Join(out, "run.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, stampede, "run", scPath, "--strategy", strategy, "--db", db, "--out", runDir, "--force")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s run: %w", stampede, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	fmt.Printf("soak: %s for %s, sampling every %s; run log %s\n", scPath, duration, interval, logf.Name())

	samples, runErr := collect(ctx, runDir, duration, interval, done)
	return report(out, samples, duration, cycleSamples(cycle, interval), runErr)
}

// cycleSamples is how many samples every interval a fault cycle spans: the window of the floor
// that judge fits.
func cycleSamples(cycle, interval time.Duration) int {
	return max(1, int(math.Round(cycle.Seconds()/interval.Seconds())))
}

// stretch reads the scenario and makes it last duration: the arrivals hold for duration less
// their ramp, and the faults (one cycle) repeat every cycle until 10 s before the end.
func stretch(path string, duration, cycle time.Duration) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sc map[string]any
	if err := yaml.Unmarshal(raw, &sc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	arr, ok := sc["arrivals"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: arrivals: want a map", path)
	}
	ramp, err := durationOf(arr["ramp"])
	if err != nil {
		return nil, fmt.Errorf("%s: arrivals.ramp: %w", path, err)
	}
	arr["hold"] = (duration - ramp).String()
	list, _ := sc["faults"].([]any)
	var faults []any
	for start := time.Duration(0); start < duration; start += cycle {
		for i, f := range list {
			m, ok := f.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: faults[%d]: want a map", path, i)
			}
			at, err := durationOf(m["at"])
			if err != nil {
				return nil, fmt.Errorf("%s: faults[%d].at: %w", path, i, err)
			}
			if at >= cycle {
				return nil, fmt.Errorf("%s: faults[%d].at %s: past the cycle of %s", path, i, at, cycle)
			}
			if start+at > duration-10*time.Second {
				continue
			}
			c := make(map[string]any, len(m))
			for k, v := range m {
				c[k] = v
			}
			c["at"] = (start + at).String()
			faults = append(faults, c)
		}
	}
	sc["faults"] = faults
	return yaml.Marshal(sc)
}

func durationOf(v any) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("%v: want a duration such as 10s", v)
	}
	return time.ParseDuration(s)
}

// collect samples the server every interval from the first successful read until duration has
// passed or the run ends, and returns the samples and how the run ended (nil while it still
// runs: it is waited for).
func collect(ctx context.Context, runDir string, duration, interval time.Duration, done <-chan error) ([]sample, error) {
	var (
		samples []sample
		first   time.Time
	)
	client := &http.Client{Timeout: interval / 2}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	startup := time.NewTimer(5 * time.Minute)
	defer startup.Stop()
	for {
		select {
		case err := <-done:
			return samples, err
		case <-ctx.Done():
			return samples, <-done
		case <-startup.C:
			if first.IsZero() {
				return nil, errors.New("no sample of the server within 5 minutes of the start; see run.log")
			}
		case <-tick.C:
		}
		addr, err := serverAddr(runDir)
		if err != nil {
			continue // not started yet
		}
		vals, err := scrape(ctx, client, "http://"+addr+"/metrics")
		if err != nil {
			fmt.Fprintf(os.Stderr, "soak: sample: %v\n", err)
			continue
		}
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		s := sample{T: now.Sub(first).Seconds(), Values: vals}
		samples = append(samples, s)
		fmt.Printf("soak: t=%4.0fs goroutines=%.0f heap=%.1fMiB fds=%.0f dbconns=%.0f\n", s.T, vals[0], vals[1]/(1<<20), vals[2], vals[3])
		if now.Sub(first) >= duration-interval/2 {
			return samples, <-done
		}
	}
}

var listening = regexp.MustCompile(`listening on (\S+)`)

// serverAddr is the address the reference server of the run last said it listens on.
func serverAddr(runDir string) (string, error) {
	var addr string
	err := filepath.WalkDir(runDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "server.log" {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr = m[1]
			}
		}
		return nil
	})
	if err == nil && addr == "" {
		err = errors.New("the server has not said where it listens yet")
	}
	return addr, err
}

// scrape reads every resource from a /metrics page.
func scrape(ctx context.Context, client *http.Client, url string) ([]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	vals := make([]float64, len(resources))
	for i, r := range resources {
		f, ok := fams[r.metric]
		if !ok || len(f.GetMetric()) == 0 {
			return nil, fmt.Errorf("%s: no %s", url, r.metric)
		}
		m := f.GetMetric()[0]
		switch {
		case m.GetGauge() != nil:
			vals[i] = m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			vals[i] = m.GetUntyped().GetValue()
		default:
			return nil, fmt.Errorf("%s: %s is not a gauge", url, r.metric)
		}
	}
	return vals, nil
}

// report writes soak.csv and soak.md under out and returns an error when a resource grows,
// the run failed, or there were too few samples to judge.
func report(out string, samples []sample, duration time.Duration, window int, runErr error) error {
	f, err := os.Create(filepath.Join(out, "soak.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	head := []string{"t_seconds"}
	for _, r := range resources {
		head = append(head, r.metric)
	}
	_ = w.Write(head)
	for _, s := range samples {
		row := []string{strconv.FormatFloat(s.T, 'f', 1, 64)}
		for _, v := range s.Values {
			row = append(row, strconv.FormatFloat(v, 'f', -1, 64))
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return err
	}

	var md strings.Builder
	fmt.Fprintf(&md, "# Soak: %d samples over %s\n\n", len(samples), duration)
	fmt.Fprintf(&md, "A resource grows without bound when the least-squares line through the second half of its floor (at each sample, the least of the last %d samples: one fault cycle), projected over %s, grows by more than 20%% of its mean plus its floor threshold. The faults fill and empty the server's pools within a cycle; what leaks is never given back and raises the floor.\n\n", window, duration)
	md.WriteString("| resource | first | last | mean (2nd half) | floor slope /min | projected | limit | verdict | curve |\n|---|---|---|---|---|---|---|---|---|\n")
	var failures []string
	ts := make([]float64, len(samples))
	for i, s := range samples {
		ts[i] = s.T
	}
	for i, r := range resources {
		vs := make([]float64, len(samples))
		for j, s := range samples {
			vs[j] = s.Values[i]
		}
		g, err := judge(ts, vs, duration, window, r.th)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", r.name, err))
			continue
		}
		verdict := "bounded"
		if g.Grows {
			verdict = "GROWS"
			failures = append(failures, fmt.Sprintf("%s grows: %s over %s projected, limit %s", r.name, r.format(g.Projected), duration, r.format(g.Limit)))
		}
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, r.format(vs[0]), r.format(vs[len(vs)-1]), r.format(g.Mean),
			r.format(g.Slope*60), r.format(g.Projected), r.format(g.Limit), verdict, sparkline(vs))
	}
	md.WriteString("\n## Samples\n\n| t (s) |")
	for _, r := range resources {
		fmt.Fprintf(&md, " %s |", r.name)
	}
	md.WriteString("\n|---|" + strings.Repeat("---|", len(resources)) + "\n")
	for _, s := range samples {
		fmt.Fprintf(&md, "| %.0f |", s.T)
		for i, v := range s.Values {
			fmt.Fprintf(&md, " %s |", resources[i].format(v))
		}
		md.WriteString("\n")
	}
	if runErr != nil {
		failures = append(failures, fmt.Sprintf("the run failed: %v (see run.log)", runErr))
	}
	if len(failures) > 0 {
		md.WriteString("\n## Failed\n\n- " + strings.Join(failures, "\n- ") + "\n")
	}
	if err := os.WriteFile(filepath.Join(out, "soak.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(md.String())
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

// format writes v in the resource's unit.
func (r resource) format(v float64) string {
	if r.unit == "MiB" {
		return strconv.FormatFloat(v/(1<<20), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// sparkline draws values as a line of block characters, lowest to highest.
func sparkline(vs []float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	blocks := []rune(bars)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	var b strings.Builder
	for _, v := range vs {
		i := 0
		if hi > lo {
			i = int((v - lo) / (hi - lo) * float64(len(blocks)-1))
		}
		b.WriteRune(blocks[i])
	}
	return b.String()
}
