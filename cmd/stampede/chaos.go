package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"stampede/chaos"
	"stampede/internal/exitcode"
	"stampede/internal/failpoint"
)

// chaosCommand is `stampede chaos`, the faults a scenario can schedule.
func chaosCommand() *command {
	return &command{
		name:    "chaos",
		summary: "list the faults a scenario can schedule (stampede chaos list)",
		usage:   []string{"chaos list [--json]"},
		about: "A scenario's faults: section schedules them at an offset from the herd's start ({at: 20s, fault: " +
			"redis-restart}), for a window (for: 10s), or when the server reaches a failpoint (when: {failpoint: " +
			"after-charge, hit: 100}).",
		examples: []string{"stampede chaos list", "stampede chaos list --json | jq -r '.faults[].name'"},
		exits:    []exit{{exitcode.OK, ""}, {exitcode.Usage, "no subcommand, or an unknown one"}},
		args:     []string{},
		subs:     []*command{chaosListCommand()},
	}
}

func chaosListCommand() *command {
	return &command{
		name:    "chaos list",
		summary: "every fault with its parameters, and the failpoints faults can wait for",
		usage:   []string{"chaos list [--json]"},
		about: "Prints every fault: what it does, what of the target it acts on, whether it lasts a window, and its " +
			"parameters with their defaults; then the failpoints a fault can be scheduled at. With --json, the same as " +
			"one object: {\"faults\": [{name, about, needs, window, loses_holds, params: [{name, kind, default, about}]}], " +
			"\"failpoints\": [...]}.",
		examples: []string{"stampede chaos list", "stampede chaos list --json"},
		exits:    []exit{{exitcode.OK, ""}, {exitcode.Usage, ""}},
		args:     []string{},
		setup: func(fs *flag.FlagSet, c *cli) action {
			asJSON := fs.Bool("json", false, "print the faults and failpoints as JSON")
			return func(_ context.Context, args []string) error {
				if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
					return err
				}
				if !*asJSON {
					return chaos.Describe(c.stdout)
				}
				specs := chaos.Specs()
				for i := range specs {
					if specs[i].Params == nil {
						specs[i].Params = []chaos.Param{}
					}
				}
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"faults": specs, "failpoints": failpoint.Known}); err != nil {
					return fmt.Errorf("print faults: %w", err)
				}
				return nil
			}
		},
	}
}
