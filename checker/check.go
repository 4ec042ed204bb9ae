package checker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"stampede/history"
)

// Defaults of Options.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultMaxExamples     = 5
	DefaultMaxPartitionOps = 50000
	DefaultVisualizations  = 3
	// DefaultMaxResidentOps keeps a history of up to a few million operations in memory;
	// past it the seats' operations are spilled to disk and checked a bucket at a time.
	DefaultMaxResidentOps = 4 << 20
	// DefaultClockSkew and DefaultGrace are the tolerances stampede check and stampede run
	// judge with (see DefaultOptions): a server and a driver on one machine or one network.
	DefaultClockSkew = 50 * time.Millisecond
	DefaultGrace     = 2 * time.Second
)

// DefaultOptions are the options `stampede check` and `stampede run` judge with: a clock skew
// of DefaultClockSkew, a grace of DefaultGrace, and the defaults of every other field
// (porcupine's DefaultTimeout per seat, DefaultMaxExamples; no hold-loss faults: the runner names them from chaos). Set
// OutDir to have visualizations written.
func DefaultOptions() Options {
	return Options{
		ClockSkew:   DefaultClockSkew,
		Grace:       DefaultGrace,
		Timeout:     DefaultTimeout,
		MaxExamples: DefaultMaxExamples,
	}
}

// Options tune a check. The zero value checks with no clock-skew tolerance and no grace
// period, porcupine's timeout of DefaultTimeout per seat, and writes no files.
type Options struct {
	// ClockSkew is how far the server's clock (which set every hold's expires_at) may be from
	// the driver's: a hold may expire in the model from ClockSkew before its expires_at. The
	// header's ClockSkew (merged shards) is added to it. DefaultOptions has DefaultClockSkew.
	ClockSkew time.Duration
	// Timeout bounds porcupine's search on one seat; a seat that runs out is undecided
	// (Unknown), never a pass. Zero means DefaultTimeout.
	Timeout time.Duration
	// Grace is how long a seat may stay refused or held after its last hold ended before it
	// counts as a false sell-out or a leaked hold (sweepers and caches lag a little).
	Grace time.Duration
	// OutDir receives porcupine's HTML visualization of failing seats; empty writes nothing.
	OutDir string
	// Workers is how many seats are checked at once. Zero means GOMAXPROCS.
	Workers int
	// MaxExamples bounds the counterexamples kept per check. Zero means DefaultMaxExamples.
	MaxExamples int
	// MaxPartitionOps bounds the operations porcupine is given for one seat (after the
	// reductions); a larger seat is undecided rather than allowed to exhaust memory (the
	// search caches a bitset of the history per state it visits). Zero means
	// DefaultMaxPartitionOps.
	MaxPartitionOps int
	// MaxResidentOps bounds the seat operations (operations projected onto each seat they
	// touch) held in memory while a history is read: past it they are spilled to a temporary
	// directory in TempDir, partitioned by seat, and the seats are checked one bucket of them
	// at a time, so that a stadium's history is checked in bounded memory. Zero means
	// DefaultMaxResidentOps; the verdict does not depend on it.
	MaxResidentOps int
	// TempDir is where spilled seat operations go; empty means os.TempDir(). Check removes
	// what it wrote there before it returns.
	TempDir string
	// MaxVisualizations bounds the HTML files written. Zero means DefaultVisualizations;
	// negative writes none.
	MaxVisualizations int
	// HoldLossFaults names the faults that may make the system lose holds (a Redis restart or
	// flush takes every lock with it). A hold taken before such a fault ended may end from the
	// fault's start, as if it had expired then; sold seats are never lost. The checker knows no
	// fault by itself: the runner names them (package chaos marks them, chaos.HoldLosingFaults).
	// Empty means none, the strict reading: no hold is excused.
	HoldLossFaults []string
	// PaymentFaults name the faults that act on the payment processor's answers (delayed,
	// failed or lost) and CrashFaults those that kill the server mid-request. They only feed
	// the hazard counts (Coverage): a checkout of unknown outcome in a payment fault's window
	// is a processor answer lost, a checkout in flight in a crash's window was interrupted.
	// As with HoldLossFaults, the runner names them (chaos.PaymentFaults, chaos.CrashFaults);
	// empty means none.
	PaymentFaults []string
	CrashFaults   []string
	// AllowTruncated checks a history file that ends in a line cut short (a crashed run) up to
	// its last complete line, and says so in Result.TruncatedBytes and a warning. Without it
	// such a history is an error wrapping history.ErrTruncated.
	AllowTruncated bool
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.ClockSkew < 0:
		return o, fmt.Errorf("clock skew %s is negative", o.ClockSkew)
	case o.Grace < 0:
		return o, fmt.Errorf("grace %s is negative", o.Grace)
	case o.Timeout < 0:
		return o, fmt.Errorf("timeout %s is negative", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.MaxExamples <= 0 {
		o.MaxExamples = DefaultMaxExamples
	}
	if o.MaxPartitionOps <= 0 {
		o.MaxPartitionOps = DefaultMaxPartitionOps
	}
	if o.MaxResidentOps <= 0 {
		o.MaxResidentOps = DefaultMaxResidentOps
	}
	if o.MaxVisualizations == 0 {
		o.MaxVisualizations = DefaultVisualizations
	}
	return o, nil
}

// Input is what one check reads: the history (in memory or a JSON Lines file), the booking
// system's ledger and the payment processor's ledger. Only the history is required; the
// checks whose inputs are missing are Skipped.
type Input struct {
	// History is the run's records; when it is nil, HistoryPath is read instead (streamed, so a
	// large history is never held in memory as records).
	History     []history.Record
	HistoryPath string
	// Ledger is the system's /admin/ledger for the run's event; Ledgers adds one per further
	// event. Either may be empty.
	Ledger  *Ledger
	Ledgers []*Ledger
	// PSP is the payment processor's /ledger.
	PSP     *PSPLedger
	Options Options
}

// Check judges a run: linearizability of every seat with porcupine, the invariants of the
// final state, the money against the processor, admission, and the availability checks; and
// counts the hazards the run created (Result.Coverage), marking a passing check whose hazards
// never occurred NotExercised. It
// returns an error only when it could not judge (unreadable history, bad options, cancelled
// context); violations are in the Result. It is safe to call concurrently.
func Check(ctx context.Context, in Input) (Result, error) {
	began := time.Now()
	opts, err := in.Options.withDefaults()
	if err != nil {
		return Result{}, fmt.Errorf("check: %w", err)
	}
	ix := newIndex(opts)
	defer ix.close()
	switch {
	case in.History != nil:
		for i := range in.History {
			if err := in.History[i].Validate(); err != nil {
				return Result{}, fmt.Errorf("check: history record %d: %w", i, err)
			}
			ix.add(i, &in.History[i])
		}
	case in.HistoryPath != "":
		if err := readInto(ctx, ix, in.HistoryPath); err != nil {
			return Result{}, fmt.Errorf("check: %w", err)
		}
	default:
		return Result{}, errors.New("check: no history given")
	}
	ix.finalize()
	if ix.err != nil {
		return Result{}, fmt.Errorf("check: %w", ix.err)
	}

	var ledgers []*Ledger
	if in.Ledger != nil {
		ledgers = append(ledgers, in.Ledger)
	}
	for _, l := range in.Ledgers {
		if l != nil {
			ledgers = append(ledgers, l)
		}
	}

	// The hazards of each seat are counted while its operations are loaded, before the
	// linearizability check consumes them.
	lc := newLinChecker(ix, opts)
	rep := lc.newReport()
	t := newTally(ix)
	err = ix.eachGroup(func(pids []int32) error {
		for _, k := range pids {
			t.seat(k)
		}
		return lc.runGroup(ctx, pids, rep)
	})
	if err != nil {
		return Result{}, fmt.Errorf("check: %w", err)
	}
	lc.finish(rep)
	cov := t.finish()
	if err := ix.close(); err != nil {
		return Result{}, fmt.Errorf("check: %w", err)
	}
	lin, paths, err := lc.verdict(ctx, rep)
	if err != nil {
		return Result{}, fmt.Errorf("check: %w", err)
	}
	rep.stats.Duration = time.Since(began)

	c := newChecks(ix, lc, opts, ledgers, in.PSP)
	res := Result{
		Verdicts: []Verdict{
			lin,
			c.noDoubleSale(),
			c.bookingsExist(),
			c.seatStates(),
			c.gaCapacity(),
			c.chargesMatched(),
			c.idempotency(),
			c.bookingsCharged(),
			c.admission(),
			c.falseSellOuts(rep),
			c.leakedHolds(),
		},
		Linearizability: rep.stats,
		Visualizations:  paths,
		Faults:          ix.faults,
		Coverage:        cov,
		Records:         ix.nrec,
		Warnings:        ix.warnings,
	}
	if ix.header != nil {
		res.Start = ix.header.Start
	}
	cov.exercise(res.Verdicts)
	if ix.truncated > 0 {
		res.TruncatedBytes = ix.truncated
		res.Warnings = append(res.Warnings, fmt.Sprintf("the history ends in an incomplete line: checked up to its last complete line, the %d bytes after it left out", ix.truncated))
	}
	res.settle()
	res.Duration = time.Since(began)
	return res, nil
}

// readInto streams a history file into the index, decoding on opts.Workers goroutines
// (history.Stream); errors name the line.
func readInto(ctx context.Context, ix *index, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open history: %w", err)
	}
	complete, err := history.CompleteLength(f, st.Size())
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if complete < st.Size() && !ix.opts.AllowTruncated {
		return fmt.Errorf("read %s: %w after byte %d (a run that crashed mid-write)", path, history.ErrTruncated, complete)
	}
	ix.truncated = st.Size() - complete
	i := 0
	err = history.Stream(ctx, io.LimitReader(f, complete), ix.opts.Workers, func(rec *history.Record) error {
		ix.add(i, rec)
		i++
		return nil
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
