package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"stampede/internal/exitcode"
	"stampede/reports"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise the module's.
var version = ""

// versionCommand is `stampede version` (also `stampede --version`).
func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version, the VCS revision and the Go version stampede was built from",
		usage:   []string{"version", "--version"},
		about: "The version is the module's (or the one set with -ldflags \"-X main.version=...\"); the revision " +
			"and whether the tree had uncommitted changes come from the build information, as in summary.json's provenance.",
		exits: []exit{{exitcode.OK, ""}},
		args:  []string{},
		setup: func(fs *flag.FlagSet, c *cli) action {
			return func(_ context.Context, args []string) error {
				if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
					return err
				}
				return printVersion(c.stdout)
			}
		},
	}
}

// versionString is stampede's version for summaries: the build's, or "dev".
func versionString() string {
	if v := reports.ThisBuild(version).Version; v != "" {
		return v
	}
	return "dev"
}

func printVersion(w io.Writer) error {
	_, err := fmt.Fprintln(w, versionLine(reports.ThisBuild(version)))
	return err
}

// versionLine is what `stampede version` prints for a build.
func versionLine(b reports.Provenance) string {
	v := b.Version
	if v == "" {
		v = "dev"
	}
	rev := "no VCS revision recorded"
	if b.Revision != "" {
		rev = "revision " + b.Revision
		if b.Modified {
			rev += ", modified"
		}
	}
	return fmt.Sprintf("stampede %s (%s; %s)", v, rev, b.GoVersion)
}
