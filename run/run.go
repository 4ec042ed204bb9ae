package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"stampede/chaos"
	"stampede/compare"
	"stampede/infra"
	"stampede/infra/local"
	"stampede/internal/outdir"
	"stampede/reports"
	"stampede/workloads"
)

// Run executes the scenario for every strategy x database of o, writes the reports into the
// run directory and returns the summary. The error is for a run that could not happen at all
// (a bad scenario, services that would not start); a run whose checks failed returns a summary
// whose Verdict is fail and a nil error.
//
// Errors of the input (options, the scenario file, a run directory that is not empty, Redis
// missing under Env external for a strategy or a waiting room that needs it) are *InputError,
// returned before anything is started. With Env external the runs keep their data in a schema
// (PostgreSQL) or database (MySQL) of their own, dropped at the end unless Keep; a user who
// may not create one gets an error naming the privilege (a *sqldb.PrivilegeError in its
// chain) before anything runs. When ctx is cancelled (Ctrl-C) the runs stop, the
// summary is marked Interrupted and the reports are still written.
func Run(ctx context.Context, o Options) (*reports.Summary, string, error) {
	if err := o.defaults(); err != nil {
		return nil, "", &InputError{err}
	}
	sc, err := workloads.Load(o.Scenario)
	if err != nil {
		return nil, "", &InputError{err}
	}
	if o.Scale != 0 {
		if err := sc.Scale(o.Scale); err != nil {
			return nil, "", fmt.Errorf("%s: %w", o.Scenario, err)
		}
	}
	entries, err := chaos.ParseEntries(sc.Faults)
	if err != nil {
		return nil, "", &InputError{fmt.Errorf("%s: %w", o.Scenario, err)}
	}
	if o.Env == "external" && o.Target == "" && o.Redis == "" && os.Getenv(infra.EnvRedis) == "" {
		if what := o.needsRedis(sc.WaitingRoom.Enabled); what != "" {
			return nil, "", &InputError{fmt.Errorf("%s, and --env external was given none: give --redis redis://host:port/db (or %s)", what, infra.EnvRedis)}
		}
	}
	base, tol, err := o.baseline(sc)
	if err != nil {
		return nil, "", &InputError{err}
	}
	seed := sc.RunSeed(o.Seed)
	seeds := make([]int64, o.Repeat)
	for j := range seeds {
		seeds[j] = workloads.RepeatSeed(seed, j)
	}
	started := time.Now()
	out := o.Out
	if out == "" {
		out = filepath.Join("runs", fmt.Sprintf("%s-%s", sc.Name, started.UTC().Format("20060102-150405")))
	}
	if err := outdir.Prepare(out, o.Force); err != nil {
		return nil, "", &InputError{err}
	}
	p := &progress{w: o.Progress}

	sum := &reports.Summary{Scenario: sc.Name, Seed: seed, Scale: sc.ScaleFactor(), ServeFlags: o.ServeFlags, Started: started,
		Versions: map[string]string{"stampede": o.Version}}

	if o.Target == "" && len(o.DBs) == 0 {
		o.DBs = defaultDBs(o)
	}
	svc := o.Services
	if o.Target == "" && svc == nil {
		if svc, err = services(ctx, o); err != nil {
			return nil, "", err
		}
		defer svc.Close()
	}
	// Against databases it does not own, the run keeps its data in a schema or database of its
	// own on each, which every connection of the run reaches through svc's DSNs.
	var iso *isolation
	if o.Env == "external" && o.Target == "" {
		if iso, err = isolate(ctx, svc, o.DBs, started); err != nil {
			return nil, "", err
		}
		defer iso.drop(ctx) // on every way out; finish below records what became of it
		svc = iso.svc
		for _, st := range iso.storage {
			p.printf("%s: the run's data goes into %s %s on %s\n", st.DB, st.Kind, st.Name, st.Server)
		}
	}

	// Repetitions take turns, so that a machine's slow minute falls on every strategy x
	// database alike rather than on all the runs of one.
	for j, rs := range seeds {
		for _, st := range o.Strategies {
			for _, db := range o.DBs {
				if ctx.Err() != nil {
					break
				}
				dir, repeat, of := st+"-"+db, 0, ""
				if o.Repeat > 1 {
					repeat = j + 1
					dir += fmt.Sprintf("-%d", repeat)
					of = fmt.Sprintf(", run %d of %d (seed %d)", repeat, o.Repeat, rs)
				}
				p.printf("== %s on %s%s\n", st, db, of)
				one := &single{o: o, sc: sc, entries: entries, seed: rs, strategy: st, db: db, svc: svc,
					dir: filepath.Join(out, dir), progress: p, repeat: repeat}
				r := one.run(ctx)
				r.Dir = dir
				if repeat > 0 {
					r.Repeat, r.Seed = repeat, rs
				}
				sum.Runs = append(sum.Runs, r)
				p.printf("   %s on %s%s: %d bookings, %d refunds; %s\n", st, db, of, r.Bookings, r.Refunds, verdictLine(r))
			}
		}
	}
	if ctx.Err() != nil && len(sum.Runs) == 0 {
		return nil, out, ctx.Err()
	}
	sum.DurationSeconds = time.Since(started).Seconds()
	sum.Interrupted = ctx.Err() != nil
	sum.Provenance = provenance(context.WithoutCancel(ctx), o, svc, seeds)
	if iso != nil {
		sum.Storage = iso.finish(ctx, o.Keep)
		for _, st := range sum.Storage {
			p.printf("%s\n", st.Line())
		}
	}
	sum.Finish()
	if o.Repeat > 1 {
		sum.Repeat = o.Repeat
		sum.Samples = compare.Samples(sum, compare.DefaultConfidence)
	}
	if base != nil {
		sum.Gate = judge(sum, base, tol, out)
		p.printf("gate against %s: %s\n", o.Baseline, sum.Gate.Line())
	}
	if err := reports.Write(out, sum); err != nil {
		return sum, out, err
	}
	return sum, out, nil
}

// verdictLine is a run's verdict for its progress line: pass, or FAIL with its first reason
// (an error, a failed or undecided check, an SLO that did not hold) and how many more.
func verdictLine(r reports.Run) string {
	r.Judge()
	if r.Verdict == reports.Pass {
		return "pass"
	}
	line := "FAIL: " + r.Reasons[0]
	if n := len(r.Reasons) - 1; n > 0 {
		line += fmt.Sprintf(" (and %d more)", n)
	}
	return line
}

// defaultDBs is postgres, plus mysql when there is one to use.
func defaultDBs(o Options) []string {
	dbs := []string{"postgres"}
	if o.Env == "external" {
		dbs = nil
		if o.PG != "" || os.Getenv(infra.EnvPostgres) != "" {
			dbs = append(dbs, "postgres")
		}
		if o.MySQL != "" || os.Getenv(infra.EnvMySQL) != "" {
			dbs = append(dbs, "mysql")
		}
		return dbs
	}
	if local.MySQLInstalled() {
		dbs = append(dbs, "mysql")
	}
	return dbs
}

// services brings up what the runs need: local processes or the external endpoints.
func services(ctx context.Context, o Options) (*infra.Services, error) {
	if o.Env == "external" {
		svc, err := infra.External(infra.Endpoints{Postgres: o.PG, MySQL: o.MySQL, Redis: o.Redis})
		if err != nil {
			return nil, err
		}
		for _, d := range o.DBs {
			if _, err := svc.DB(d); err != nil {
				return nil, err
			}
		}
		return svc, nil
	}
	want := infra.Want{Redis: true}
	for _, d := range o.DBs {
		switch d {
		case "postgres":
			want.Postgres = true
		case "mysql":
			want.MySQL = true
		}
	}
	storage, dir, _, err := local.ResolveStorage(o.Storage)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Progress, "starting local services (%s) on %s storage...\n", wantList(want), storage)
	svc, err := infra.Local(ctx, dir, want)
	if err != nil {
		return nil, fmt.Errorf("start local services: %w", err)
	}
	return svc, nil
}

func wantList(w infra.Want) string {
	var out []string
	if w.Postgres {
		out = append(out, "postgres")
	}
	if w.MySQL {
		out = append(out, "mysql")
	}
	if w.Redis {
		out = append(out, "redis")
	}
	return strings.Join(out, ", ")
}

// ErrFailed is returned by callers that turn a failed verdict into an error.
var ErrFailed = errors.New("run failed its checks")

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// progress prints run progress lines; safe for concurrent use. While a herd runs its lines go
// through the driver (workloads.Driver.Printf), above the driver's live display.
type progress struct {
	mu sync.Mutex
	w  io.Writer
	d  *workloads.Driver
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.d != nil {
		p.d.Printf(format, args...)
		return
	}
	fmt.Fprintf(p.w, format, args...)
}

// setDriver sends the lines through d while its herd runs; nil sends them to w again.
func (p *progress) setDriver(d *workloads.Driver) {
	p.mu.Lock()
	p.d = d
	p.mu.Unlock()
}
