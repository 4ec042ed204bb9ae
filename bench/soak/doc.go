// Command soak runs `stampede run` on scenarios/soak.yaml for a long time (-duration) with its
// faults rotating, samples the reference server's goroutines, heap in use, open file
// descriptors and open database connections from its /metrics every -interval, and fails when
// one of them grows without bound: a least-squares line through the second half of its floor,
// the least value of the fault cycle (-cycle) ending at each sample (judge), whose growth
// projected over the duration is more than 20% of its mean plus a floor per resource
// (thresholds). It writes the samples (soak.csv), a markdown table with each
// resource's fit and a sparkline (soak.md) and the run's directory under -out. `make soak` runs
// it for SOAK_DURATION (10m).
package main
