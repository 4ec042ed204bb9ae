package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"stampede/internal/exitcode"
	"stampede/reports"
)

// reportCommand is `stampede report DIR`: report.md, report.html and junit.xml of a run
// directory, rendered again from its summary.json.
func reportCommand() *command {
	return &command{
		name:    "report",
		summary: "re-render the reports of a run directory from its summary.json",
		usage:   []string{"report DIR"},
		about: "Writes report.md, report.html and junit.xml of a run directory again from its summary.json (after " +
			"an upgrade of stampede, say), and exits with the status the run called for.",
		examples: []string{"stampede report runs/quickstart-20260101-120000"},
		exits: []exit{
			{exitcode.OK, "the run passed"},
			{exitcode.Violation, "a check of the run failed"},
			{exitcode.Usage, "no DIR, or no summary.json in it"},
			{exitcode.Gate, "an SLO of the run did not hold, or its gate against a baseline found a regression"},
			{exitcode.Harness, "a run could not complete or a check could not decide; or the reports could not be written"},
			{exitcode.Interrupted, "the run was interrupted"},
		},
		args: []string{argDir},
		setup: func(fs *flag.FlagSet, c *cli) action {
			return func(_ context.Context, args []string) error {
				if err := wantArgs(args, 1, 1, "one run directory"); err != nil {
					return err
				}
				dir := args[0]
				s, err := reports.Load(dir)
				if err != nil {
					return inputError(err)
				}
				if err := reports.Write(dir, s); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "%s: %s\n", s.Verdict, filepath.Join(dir, reports.HTMLFile))
				if code := s.ExitCode(); code != exitcode.OK {
					return exitcode.With(code, nil)
				}
				return nil
			}
		},
	}
}
