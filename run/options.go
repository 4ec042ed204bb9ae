package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"stampede/infra"
	"stampede/infra/local"
	"stampede/internal/failpoint"
	"stampede/server"
	"stampede/server/tickets"
	"stampede/strategies"
	"stampede/workloads"
)

// Options configure a run. The zero value of every optional field is documented.
type Options struct {
	// Scenario is the scenario file; empty means scenarios/quickstart.yaml.
	Scenario string
	// Strategies to run, each in turn on a fresh database; empty means every safe strategy.
	Strategies []string
	// DBs are "postgres" and/or "mysql"; empty means postgres, plus mysql when a MySQL or
	// MariaDB server binary is installed (local) or given (external).
	DBs []string
	// Env is "local" (start services from installed binaries; the default) or "external"
	// (DSNs from PG, MySQL, Redis or the STAMPEDE_* environment).
	Env string
	// Storage is where local services keep their data (Env "local"): "memory" (a tmpfs),
	// "disk", or empty for local.ResolveStorage's default (memory where the machine has one).
	// See local.Storage for what each leaves in and out of the figures.
	Storage string
	// PG, MySQL and Redis are the external services' DSNs (Env "external").
	PG, MySQL, Redis string
	// Keep leaves in place the schema (PostgreSQL) or database (MySQL) of its own that a run
	// with Env "external" keeps its data in (see isolate.go); false drops it at the end of the
	// run, failed or interrupted runs included. The report names it either way.
	Keep bool
	// Target tests a booking system that is not ours: no services or server are started and
	// faults are limited to what can reach it (the processor).
	Target string
	// PSPAddr is where the payment processor listens; empty means a free loopback port (with
	// Target: 127.0.0.1:8081, where the system under test was told to find it).
	PSPAddr string
	// Seed overrides the scenario's seed when not zero.
	Seed int64
	// Scale multiplies the scenario's herd (workloads.Scenario.Scale: users and rates, the
	// waiting room's admission rate; not the inventory); 0 means 1.
	Scale float64
	// Out is the run directory; empty means runs/<scenario>-<time>. A directory that already
	// holds files is refused, unless Force.
	Out string
	// Force lets Out be a directory that holds an earlier run: it is emptied first, so that no
	// file of the earlier run is left beside the new one's (internal/outdir).
	Force bool
	// Binary is the stampede executable started as the reference server; empty means this
	// process's own executable.
	Binary string
	// AllowUnsafe lets the strategies broken on purpose run (naive and the variants of
	// strategies.Broken); they are expected to fail the checks.
	AllowUnsafe bool
	// Shadow is a strategy the reference server replays every decision of the run's strategy
	// against, on its own copy of the inventory (serve --shadow); each run's report then has a
	// shadow section. Empty runs none; not with Target.
	Shadow string
	// Scanner names how the reference server's stadium gates admit scanned tickets
	// (tickets.GateNames, serve --gate); empty means its default. The ones broken on purpose
	// (per-gate-cache) need AllowUnsafe too.
	Scanner string
	// Progress receives progress lines and the driver's live bar; nil means os.Stderr
	// (io.Discard for none).
	Progress io.Writer
	// Verbose adds to the progress each run's driver summary, its checker table and every
	// fault's parameters.
	Verbose bool
	// CheckTimeout bounds the linearizability search per seat; 0 means the checker's default.
	CheckTimeout time.Duration
	// RequireCoverage adds hazard minimums to the scenario's coverage: section (the larger of
	// the two counts); nil adds none.
	RequireCoverage workloads.Coverage
	// Version labels the summary.
	Version string
	// Services, when set, are used instead of starting or resolving services (the caller
	// owns them and closes them); several runs can share one set.
	Services *infra.Services
	// Shards, when positive, drives each herd as that many `stampede drive --shard i/n`
	// processes of Binary on this machine, started together at a common instant, and merges
	// their histories, summaries and metrics before checking (see shards.go); 0 drives the
	// herd in this process.
	Shards int
	// Repeat runs every strategy x database this many times, as samples for statistics:
	// repetition j (0-based) with seed workloads.RepeatSeed(seed, j), the first with the seed
	// itself; the repetitions take turns (every cell's first run, then every cell's second).
	// 0 means 1.
	Repeat int
	// Baseline is an earlier run to judge this one against (Summary.Gate): its directory, its
	// summary.json, or anything compare.Load reads. It must be of the same scenario and hold
	// every strategy x database of this run, or the run is refused before it starts. Empty:
	// no gate.
	Baseline string
	// Gate replaces the scenario's tolerances (workloads.Scenario.Tolerances) metric by metric.
	Gate []workloads.Tolerance
	// Failpoints are armed in the reference server from its start (server.Options.Failpoints,
	// such as after-hold=delay:20ms); empty arms none. Not with Target.
	Failpoints string
	// ServeFlags are flags of `stampede serve` for the reference server beyond those the run
	// sets itself (server.RunOwnedFlags), such as --overload-target=100ms: how a capacity or
	// strategy study tries the server's own settings. Not with Target.
	ServeFlags []string
}

// InputError is an error of Run's input rather than of the run: options that do not go
// together, a scenario that cannot be read, a run directory that is not empty. The caller's
// to fix (`stampede run` exits 2 on it).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// needsRedis says what of the run needs Redis, or "" when nothing does: a strategy that keeps
// its holds there, or the scenario's waiting room.
func (o *Options) needsRedis(waitingRoom bool) string {
	for _, s := range o.Strategies {
		if strategies.NeedsRedis(s) {
			return fmt.Sprintf("strategy %s keeps its holds in Redis", s)
		}
	}
	if strategies.NeedsRedis(o.Shadow) {
		return fmt.Sprintf("shadow %s keeps its holds in Redis", o.Shadow)
	}
	if waitingRoom {
		return "the scenario's waiting room keeps its queue in Redis"
	}
	return ""
}

// Databases are the databases a run takes (Options.DBs), and Envs the places its services come
// from (Options.Env, the first the default).
var (
	Databases = []string{"postgres", "mysql"}
	Envs      = []string{"local", "external"}
)

func (o *Options) defaults() error {
	if o.Scenario == "" {
		o.Scenario = "scenarios/quickstart.yaml"
	}
	if o.Env == "" {
		o.Env = Envs[0]
	}
	if !slices.Contains(Envs, o.Env) {
		return fmt.Errorf("env %q: want %s", o.Env, strings.Join(Envs, " or "))
	}
	if o.Env == "local" && o.Target == "" {
		st, _, _, err := local.ResolveStorage(o.Storage)
		if err != nil {
			return err
		}
		o.Storage = string(st)
	} else if o.Storage != "" {
		return fmt.Errorf("storage %s: only with --env local, whose services the run starts", o.Storage)
	}
	if o.Progress == nil {
		o.Progress = os.Stderr
	}
	if o.Keep && (o.Env != "external" || o.Target != "") {
		return errors.New("keep: only with --env external, whose databases the run does not own (local services are removed with the run)")
	}
	if o.Shadow != "" && !slices.Contains(strategies.Names(), o.Shadow) {
		return fmt.Errorf("shadow %q: unknown strategy; choose one of %s", o.Shadow, strings.Join(strategies.Names(), ", "))
	}
	if o.Shards < 0 || o.Shards > MaxShards {
		return fmt.Errorf("shards %d: want 1 to %d driver processes, or 0 for the herd in this process", o.Shards, MaxShards)
	}
	switch {
	case o.Repeat < 0:
		return fmt.Errorf("repeat %d: want 1 or more runs of each strategy x database", o.Repeat)
	case o.Repeat == 0:
		o.Repeat = 1
	}
	if _, err := failpoint.ParseSpec(o.Failpoints); err != nil {
		return fmt.Errorf("failpoints: %w", err)
	}
	if err := checkServeFlags(o.ServeFlags); err != nil {
		return fmt.Errorf("serve-flag: %w", err)
	}
	if o.Target != "" {
		if o.Failpoints != "" {
			return fmt.Errorf("failpoints %q: only the reference server has them, not --target", o.Failpoints)
		}
		if len(o.ServeFlags) > 0 {
			return fmt.Errorf("serve-flag %s: only the reference server takes them, not --target", strings.Join(o.ServeFlags, " "))
		}
		if o.Shadow != "" {
			return errors.New("shadow: the reference server runs the shadow; a --target system cannot")
		}
		if !strings.HasPrefix(o.Target, "http://") && !strings.HasPrefix(o.Target, "https://") {
			return fmt.Errorf("target %q: want an http:// or https:// URL", o.Target)
		}
		o.Strategies = []string{"external"}
		o.DBs = []string{"external"}
		if o.PSPAddr == "" {
			o.PSPAddr = "127.0.0.1:8081"
		}
		return nil
	}
	if len(o.Strategies) == 0 {
		o.Strategies = strategies.Safe()
	}
	for _, s := range o.Strategies {
		if !slices.Contains(strategies.Names(), s) {
			return fmt.Errorf("strategy %q: unknown; choose one of %s or all", s, strings.Join(strategies.Names(), ", "))
		}
		if strategies.Unsafe(s) && !o.AllowUnsafe {
			return fmt.Errorf("strategy %q is broken on purpose; pass --allow-unsafe to run it", s)
		}
	}
	switch {
	case o.Scanner != "" && !slices.Contains(tickets.GateNames(), o.Scanner):
		return fmt.Errorf("scanner %q: unknown; choose one of %s", o.Scanner, strings.Join(tickets.GateNames(), ", "))
	case tickets.UnsafeGate(o.Scanner) && !o.AllowUnsafe:
		return fmt.Errorf("scanner %q admits tickets twice on purpose; pass --allow-unsafe to run it", o.Scanner)
	}
	for _, d := range o.DBs {
		if d != "postgres" && d != "mysql" {
			return fmt.Errorf("db %q: want postgres, mysql or all", d)
		}
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the stampede executable: %w", err)
		}
		o.Binary = exe
	}
	return nil
}

// ParseList splits a comma-separated flag value, expanding "all" to every item of all.
func ParseList(v string, all []string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return nil, errors.New("empty item in list")
		case s == "all":
			out = append(out, all...)
		case !slices.Contains(out, s):
			out = append(out, s)
		}
	}
	return out, nil
}

// checkServeFlags reports what is wrong with flags, Options.ServeFlags, before anything starts:
// a flag serve does not have, one the run sets itself, or a value the server would refuse.
func checkServeFlags(flags []string) error {
	if len(flags) == 0 {
		return nil
	}
	o := server.DefaultOptions()
	if err := o.ApplyFlags(flags, server.RunOwnedFlags); err != nil {
		return err
	}
	// The run gives the server its strategy, database and Redis; stand-ins let Validate judge
	// the rest, whichever strategy comes first.
	o.Strategy, o.DB, o.Redis = strategies.Safe()[0], "postgres://127.0.0.1/stampede", "redis://127.0.0.1:6379/0"
	return o.Validate()
}
