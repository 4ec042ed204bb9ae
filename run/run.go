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
	"stampede/infra"
	"stampede/infra/local"
	"stampede/reports"
	"stampede/workloads"
)

// Run executes the scenario for every strategy x database of o, writes the reports into the
// run directory and returns the summary. The error is for a run that could not happen at all
// (a bad scenario, services that would not start); a run whose checks failed returns a summary
// whose Verdict is fail and a nil error.
func Run(ctx context.Context, o Options) (*reports.Summary, string, error) {
	if err := o.defaults(); err != nil {
		return nil, "", err
	}
	sc, err := workloads.Load(o.Scenario)
	if err != nil {
		return nil, "", err
	}
	if o.Scale != 0 {
		if err := sc.Scale(o.Scale); err != nil {
			return nil, "", fmt.Errorf("%s: %w", o.Scenario, err)
		}
	}
	entries, err := chaos.ParseEntries(sc.Faults)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", o.Scenario, err)
	}
	seed := sc.RunSeed(o.Seed)
	started := time.Now()
	out := o.Out
	if out == "" {
		out = filepath.Join("runs", fmt.Sprintf("%s-%s", sc.Name, started.UTC().Format("20060102-150405")))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, "", fmt.Errorf("create run directory: %w", err)
	}
	p := &progress{w: o.Progress}

	sum := &reports.Summary{Scenario: sc.Name, Seed: seed, Scale: sc.ScaleFactor(), Started: started,
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

	for _, st := range o.Strategies {
		for _, db := range o.DBs {
			if ctx.Err() != nil {
				break
			}
			p.printf("== %s on %s\n", st, db)
			one := &single{o: o, sc: sc, entries: entries, seed: seed, strategy: st, db: db, svc: svc,
				dir: filepath.Join(out, st+"-"+db), progress: p}
			r := one.run(ctx)
			r.Dir = st + "-" + db
			sum.Runs = append(sum.Runs, r)
			verdict := "pass"
			if r.Error != "" {
				verdict = "error: " + r.Error
			} else if failed := failedChecks(r); len(failed) > 0 {
				verdict = "FAIL: " + strings.Join(failed, ", ")
			}
			p.printf("   %s on %s: %d bookings, %d refunds; %s\n", st, db, r.Bookings, r.Refunds, verdict)
		}
	}
	if ctx.Err() != nil && len(sum.Runs) == 0 {
		return nil, out, ctx.Err()
	}
	sum.DurationSeconds = time.Since(started).Seconds()
	sum.Finish()
	if ctx.Err() != nil {
		sum.Verdict = reports.Fail
	}
	if err := reports.Write(out, sum); err != nil {
		return sum, out, err
	}
	return sum, out, nil
}

func failedChecks(r reports.Run) []string {
	var out []string
	for _, c := range r.Checks {
		if c.Result == reports.Fail || c.Result == reports.Unknown {
			out = append(out, c.Name)
		}
	}
	return out
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
	fmt.Fprintf(o.Progress, "starting local services (%s)...\n", wantList(want))
	svc, err := infra.Local(ctx, "", want)
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

// progress prints run progress lines; safe for concurrent use.
type progress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}
