// Package compare judges a candidate against a base: two sets of stampede summaries (run
// directories or summary.json files), compared per strategy x database on throughput, latency
// percentiles per operation, error rate, bookings, refunds, lost holds and capacity.
//
// A run is a sample, not an answer. Every run of a strategy x database on one side (a summary
// whose runs were repeated with derived seeds, or several summaries) is one sample of it, and
// the two sides are compared the way benchstat compares benchmarks, with
// golang.org/x/perf/benchmath: the median of each side with its confidence interval, and the
// Mann-Whitney U test for whether the two differ. "No significant change" (~) is an answer of
// its own, and so is "too few samples": the U test cannot tell anything from fewer than four
// runs a side at alpha 0.05, and says so instead of comparing two numbers.
//
// The files: load.go (Side and Load: reading runs from paths), compare.go (Compare, Result,
// the per-cell metrics), options.go (alpha, confidence, force), metrics.go (what each metric
// reads from a run), stats.go (the statistics), provenance.go (whether the two sides are fair to compare: refusal of different
// scenarios or schemas, warnings on different seeds, machines or service versions), gate.go
// (Gate: tolerances applied, correctness first), baseline.go (what `stampede run --baseline`
// uses: Baseline's check before the runs, GateResult.Report for the summary, Samples for
// repeated runs), markdown.go and json.go (the outputs) and charts.go (side-by-side chart data
// for reports).
//
// The gate fails a metric only when it moved beyond its tolerance in its bad direction and
// the move is significant; a candidate run whose checks failed fails the gate whatever the
// tolerances, as a correctness failure rather than a regression.
package compare
