package main

import (
	"fmt"
	"path/filepath"

	"stampede/workloads"
)

// combineSummaries is the --scenario part of `stampede drive merge`: it combines the
// drive-summary.json beside each of the histories into one beside out (workloads.Combine),
// prints it and returns the exit status of its SLOs.
func combineSummaries(c *cli, scenario, out string, records int64, histories []string) error {
	sc, err := workloads.Load(scenario)
	if err != nil {
		return inputError(err)
	}
	parts := make([]*workloads.Summary, len(histories))
	for i, h := range histories {
		if parts[i], err = workloads.ReadSummary(filepath.Join(filepath.Dir(h), workloads.SummaryFile)); err != nil {
			return inputError(fmt.Errorf("summary of %s: %w", h, err))
		}
	}
	sum, err := workloads.Combine(sc, parts...)
	if err != nil {
		return inputError(err)
	}
	sum.HistoryRecords = records
	path := filepath.Join(filepath.Dir(out), workloads.SummaryFile)
	if err := writeSummary(path, sum); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "combined %d summaries into %s\n\n", len(parts), path)
	if err := sum.WriteText(c.stdout); err != nil {
		return err
	}
	return sloExit(sum)
}
