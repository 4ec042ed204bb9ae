package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"stampede/reports"
)

// cmdReport re-renders report.md, report.html, junit.xml, metrics.csv and latency.csv of a run
// directory from its summary.json.
func cmdReport(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: stampede report DIR\n\nRe-renders the reports of a run directory from its summary.json.")
	}
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError{2}
	}
	dir := fs.Arg(0)
	s, err := reports.Load(dir)
	if err != nil {
		return err
	}
	if err := reports.Write(dir, s); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "%s: %s\n", s.Verdict, filepath.Join(dir, reports.HTMLFile))
	if s.Verdict != reports.Pass {
		return exitError{1}
	}
	return nil
}
