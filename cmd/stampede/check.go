package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"stampede/chaos"
	"stampede/checker"
	"stampede/history"
	"stampede/internal/exitcode"
	"stampede/sut"
	"stampede/workloads"
)

// checkCommand is `stampede check DIR|history.jsonl`: the checker on a recorded run.
func checkCommand() *command {
	return &command{
		name:    "check",
		summary: "check a recorded history and its ledgers: no seat sold twice, no money lost",
		usage:   []string{"check DIR [flags]", "check history.jsonl [--ledger FILE|URL] [--psp-ledger FILE|URL] [flags]"},
		about: "Judges a recorded run: every seat's operations against a model of one seat with porcupine, then " +
			"the ledgers (no seat sold twice, every charge matched by one booking or one refund, ...). In DIR (a run " +
			"directory of stampede run, one per strategy and database, or the --out of stampede drive) it reads " +
			"history.jsonl, and ledger.json and psp-ledger.json when present. A ledger is a file, or the base URL of " +
			"the system (or processor) to read it from.\n\n" +
			"A seat the search cannot decide within --timeout is undecided: neither a pass nor a proven violation " +
			"(exit status 4; a larger --timeout may decide it). A history that ends in a line cut short (a crashed " +
			"run) is refused unless --allow-truncated, which checks it up to its last complete line and says so.",
		examples: []string{
			"stampede check runs/quickstart-20260101-120000/skip-locked-postgres",
			"stampede check out/history.jsonl --ledger http://127.0.0.1:8080 --psp-ledger http://127.0.0.1:8081 --json",
			"stampede check crashed/ --allow-truncated --details",
		},
		exits: []exit{
			{exitcode.OK, "every check passed (or was skipped for want of its input)"},
			{exitcode.Violation, "a check failed: a proven violation"},
			{exitcode.Usage, "bad flags, or an input that is missing or not what it should be (no history, a file that is not a ledger)"},
			{exitcode.Harness, "undecided: some seat could not be decided within --timeout; or a ledger URL did not answer"},
			{exitcode.Interrupted, ""},
		},
		args:  []string{argDir},
		setup: checkFlags,
	}
}

func checkFlags(fs *flag.FlagSet, c *cli) action {
	ledger := fs.String("ledger", "", "the booking system's ledger: a file (GET /admin/ledger; an object, or an array with one per event), or the system's base URL to read it for every event of the history")
	token := fs.String("admin-token", "", "bearer token of the system's /admin/ledger when --ledger is a URL of a locked server")
	psp := fs.String("psp-ledger", "", "the payment processor's ledger: a file (GET /ledger), or the processor's base URL to read it")
	def := checker.DefaultOptions()
	skew := fs.Duration("clock-skew", def.ClockSkew, "how far the server's clock may be from the driver's")
	timeout := fs.Duration("timeout", def.Timeout, "porcupine's time budget per seat; a seat that runs out is undecided")
	grace := fs.Duration("grace", def.Grace, "how long a seat may stay refused or held after its hold ended before it counts")
	out := fs.String("out", "", "where to write visualizations of failing seats (default: the run directory, or the history's directory)")
	examples := fs.Int("examples", def.MaxExamples, "counterexamples kept per check")
	details := fs.Bool("details", false, "print every counterexample with its operations")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a table")
	truncated := fs.Bool("allow-truncated", false, "check a history whose last line was cut short (a crashed run) up to its last complete line")
	lossFaults := fs.String("hold-loss-faults", strings.Join(chaos.HoldLosingFaults(), ","),
		"faults that may make the system lose holds, comma-separated (empty: none)")
	paymentFaults := fs.String("payment-faults", strings.Join(chaos.PaymentFaults(), ","),
		"faults on the payment processor's answers, comma-separated, for the coverage (empty: none)")
	crashFaults := fs.String("crash-faults", strings.Join(chaos.CrashFaults(), ","),
		"faults that kill the server, comma-separated, for the coverage (empty: none)")
	require := fs.String("require-coverage", "", "least hazard counts the run must reach, hazard=N,... (exit 5 when short)")
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 1, 1, "one run directory or history file"); err != nil {
			return err
		}
		in, err := checkInput(ctx, args[0], *ledger, *psp, *token)
		if err != nil {
			return err
		}
		if *out != "" {
			in.Options.OutDir = *out
		}
		in.Options.ClockSkew, in.Options.Timeout, in.Options.Grace, in.Options.MaxExamples = *skew, *timeout, *grace, *examples
		in.Options.AllowTruncated = *truncated
		in.Options.HoldLossFaults = nameList(*lossFaults)
		in.Options.PaymentFaults = nameList(*paymentFaults)
		in.Options.CrashFaults = nameList(*crashFaults)
		minimums, err := workloads.ParseCoverage(*require)
		if err != nil {
			return usageErrorf("--require-coverage: %w", err)
		}
		tuneGCForCheck()
		res, err := checker.Check(ctx, in)
		switch {
		case err != nil && ctx.Err() != nil:
			return exitcode.With(exitcode.Interrupted, errors.New("interrupted"))
		case errors.Is(err, history.ErrTruncated):
			return inputError(fmt.Errorf("%w; --allow-truncated checks it up to its last complete line", err))
		case err != nil:
			// The history could not be read, or an option is out of range: bad input.
			return inputError(err)
		}
		if *asJSON {
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				return fmt.Errorf("print result: %w", err)
			}
		} else {
			if err := res.WriteTable(c.stdout); err != nil {
				return err
			}
			if *details {
				if err := res.WriteDetails(c.stdout); err != nil {
					return err
				}
			}
		}
		short := res.Coverage.Shortfalls(minimums)
		w := c.stdout
		if *asJSON {
			w = c.stderr
		}
		for _, sf := range short {
			fmt.Fprintf(w, "coverage short: %s\n", sf)
		}
		switch {
		case res.Status == checker.Fail:
			return exitcode.With(exitcode.Violation, nil)
		case res.Status == checker.Unknown:
			return exitcode.With(exitcode.Harness, nil)
		case len(short) > 0:
			return exitcode.With(exitcode.Coverage, nil)
		}
		return nil
	}
}

// The collector's settings for stampede check. Reading a large history allocates fast while
// the index it builds stays a few hundred MiB, so at Go's default GOGC=100 the collector
// spends a sixth or more of the check's CPU marking that index again and again. The check
// lets the heap grow to checkGCPercent over the live data, capped by checkMemoryLimit: a
// stadium's history (ten million operations) is checked within the 4 GiB the checker is
// given, with its collections rarer. GOGC or GOMEMLIMIT in the environment take precedence.
const (
	checkGCPercent   = 400
	checkMemoryLimit = 3 << 30
)

// tuneGCForCheck applies checkGCPercent and checkMemoryLimit, unless the environment sets
// the collector.
func tuneGCForCheck() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(checkGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(checkMemoryLimit)
	}
}

// nameList splits a comma-separated flag value into its non-empty names; never nil, so an
// empty flag means none.
func nameList(s string) []string {
	out := []string{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// checkInput resolves the positional argument (a run directory or a history file) and the
// ledger flags (files, or base URLs to read the ledgers from) into the checker's input. A
// local input that is missing or not what it should be is an input error (exit status 2); a
// ledger URL that does not answer is the harness failing (4).
func checkInput(ctx context.Context, arg, ledger, psp, token string) (checker.Input, error) {
	st, err := os.Stat(arg)
	if errors.Is(err, fs.ErrNotExist) {
		return checker.Input{}, inputError(fmt.Errorf("%s: no such run directory or history file", arg))
	}
	if err != nil {
		return checker.Input{}, inputError(err)
	}
	var in checker.Input
	if st.IsDir() {
		in, err = checker.LoadDir(arg)
		if errors.Is(err, checker.ErrNotRunDir) {
			return checker.Input{}, inputError(fmt.Errorf("%s has no %s: give a run directory (stampede run writes one per strategy and database, stampede drive its --out) or a history file",
				arg, checker.HistoryFile))
		}
		if err != nil {
			return checker.Input{}, inputError(err)
		}
	} else {
		in = checker.Input{HistoryPath: arg, Options: checker.Options{OutDir: filepath.Dir(arg)}}
	}
	switch {
	case isURL(ledger):
		events, err := history.Events(in.HistoryPath)
		if err != nil {
			return checker.Input{}, inputError(err)
		}
		if in.Ledgers, _, err = (sut.Server{URL: ledger, Token: token}).Ledgers(ctx, events); err != nil {
			return checker.Input{}, err
		}
	case ledger != "":
		if in.Ledgers, err = checker.ReadLedgers(ledger); err != nil {
			return checker.Input{}, inputError(err)
		}
	}
	switch {
	case isURL(psp):
		if in.PSP, _, err = (sut.Processor{URL: psp, Token: token}).Ledger(ctx); err != nil {
			return checker.Input{}, err
		}
	case psp != "":
		if in.PSP, err = checker.ReadPSPLedger(psp); err != nil {
			return checker.Input{}, inputError(err)
		}
	}
	return in, nil
}

// isURL says whether a flag value is an http:// or https:// URL rather than a file.
func isURL(v string) bool {
	return strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://")
}
