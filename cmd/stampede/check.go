package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"stampede/chaos"
	"stampede/checker"
	"stampede/history"
	"stampede/sut"
	"stampede/workloads"
)

// cmdCheck judges a recorded run: stampede check DIR|history.jsonl [flags]. It prints the
// verdict and coverage tables and exits 0 when no check failed or was undecided, 1 on a
// violation (or when the inputs cannot be read), 2 on bad usage, 3 when some seat was
// undecided and 5 when the run did not reach the coverage --require-coverage asks for; the
// lower status wins.
func cmdCheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: stampede check DIR|history.jsonl [flags]")
		fmt.Fprintln(fs.Output(), "\nIn DIR it reads history.jsonl, and ledger.json and psp-ledger.json when present.")
		fmt.Fprintln(fs.Output(), "Exit status: 0 pass, 1 violation or unreadable input, 2 usage, 3 undecided,")
		fmt.Fprintln(fs.Output(), "5 hazard coverage short of --require-coverage.")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	ledger := fs.String("ledger", "", "the booking system's ledger: a file (GET /admin/ledger; an object, or an array with one per event), or the system's base URL to read it for every event of the history")
	psp := fs.String("psp-ledger", "", "the payment processor's ledger: a file (GET /ledger), or the processor's base URL to read it")
	def := checker.DefaultOptions()
	skew := fs.Duration("clock-skew", def.ClockSkew, "how far the server's clock may be from the driver's")
	timeout := fs.Duration("timeout", def.Timeout, "porcupine's time budget per seat; a seat that runs out is undecided")
	grace := fs.Duration("grace", def.Grace, "how long a seat may stay refused or held after its hold ended before it counts")
	out := fs.String("out", "", "where to write visualizations of failing seats (default: the run directory, or the history's directory)")
	examples := fs.Int("examples", def.MaxExamples, "counterexamples kept per check")
	details := fs.Bool("details", false, "print every counterexample with its operations")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a table")
	lossFaults := fs.String("hold-loss-faults", strings.Join(chaos.HoldLosingFaults(), ","),
		"faults that may make the system lose holds, comma-separated (empty: none)")
	paymentFaults := fs.String("payment-faults", strings.Join(chaos.PaymentFaults(), ","),
		"faults on the payment processor's answers, comma-separated, for the coverage (empty: none)")
	crashFaults := fs.String("crash-faults", strings.Join(chaos.CrashFaults(), ","),
		"faults that kill the server, comma-separated, for the coverage (empty: none)")
	require := fs.String("require-coverage", "", "least hazard counts the run must reach, hazard=N,... (exit 5 when short)")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError{2}
	}
	in, err := checkInput(ctx, fs.Arg(0), *ledger, *psp)
	if err != nil {
		return err
	}
	if *out != "" {
		in.Options.OutDir = *out
	}
	in.Options.ClockSkew, in.Options.Timeout, in.Options.Grace, in.Options.MaxExamples = *skew, *timeout, *grace, *examples
	in.Options.HoldLossFaults = nameList(*lossFaults)
	in.Options.PaymentFaults = nameList(*paymentFaults)
	in.Options.CrashFaults = nameList(*crashFaults)
	minimums, err := workloads.ParseCoverage(*require)
	if err != nil {
		fmt.Fprintf(fs.Output(), "--require-coverage: %v\n", err)
		return exitError{2}
	}
	res, err := checker.Check(ctx, in)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("print result: %w", err)
		}
	} else {
		if err := res.WriteTable(os.Stdout); err != nil {
			return err
		}
		if *details {
			if err := res.WriteDetails(os.Stdout); err != nil {
				return err
			}
		}
	}
	short := res.Coverage.Shortfalls(minimums)
	if len(short) > 0 {
		w := os.Stdout
		if *asJSON {
			w = os.Stderr
		}
		for _, sf := range short {
			fmt.Fprintf(w, "coverage short: %s\n", sf)
		}
	}
	switch {
	case res.Status == checker.Fail:
		return exitError{1}
	case res.Status == checker.Unknown:
		return exitError{3}
	case len(short) > 0:
		return exitError{5}
	}
	return nil
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
// ledger flags (files, or base URLs to read the ledgers from) into the checker's input.
func checkInput(ctx context.Context, arg, ledger, psp string) (checker.Input, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return checker.Input{}, fmt.Errorf("history: %w", err)
	}
	var in checker.Input
	if st.IsDir() {
		if in, err = checker.LoadDir(arg); err != nil {
			return checker.Input{}, err
		}
	} else {
		in = checker.Input{HistoryPath: arg, Options: checker.Options{OutDir: filepath.Dir(arg)}}
	}
	switch {
	case isURL(ledger):
		events, err := history.Events(in.HistoryPath)
		if err != nil {
			return checker.Input{}, err
		}
		if in.Ledgers, _, err = (sut.Server{URL: ledger}).Ledgers(ctx, events); err != nil {
			return checker.Input{}, err
		}
	case ledger != "":
		if in.Ledgers, err = checker.ReadLedgers(ledger); err != nil {
			return checker.Input{}, err
		}
	}
	switch {
	case isURL(psp):
		if in.PSP, _, err = (sut.Processor{URL: psp}).Ledger(ctx); err != nil {
			return checker.Input{}, err
		}
	case psp != "":
		if in.PSP, err = checker.ReadPSPLedger(psp); err != nil {
			return checker.Input{}, err
		}
	}
	return in, nil
}

// isURL says whether a flag value is an http:// or https:// URL rather than a file.
func isURL(v string) bool {
	return strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://")
}
