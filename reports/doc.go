// Package reports turns the results of a run into what people read: summary.json (a stable,
// versioned schema, see Summary), report.md (verdict first, then the comparison, each run
// folded into one line with its verdict and first reason, then a short glossary; for a CI step
// summary or a PR comment), report.html (one self-contained file with inline SVG charts: no
// script, no CDN, nothing fetched at view time), junit.xml (each check, SLO and fault a test
// case), and metrics.csv and latency.csv (the per-second series and the latencies, for a
// spreadsheet).
//
// Every run shows its hazard coverage beside its
// checks: how often it created each hazard the checks guard against, the checks not exercised
// (rendered apart from a pass: skipped in junit.xml, with the reason) and any shortfall
// against the minimums the scenario declared, which leaves the verdict alone but makes
// `stampede run` exit 5.
//
// Every run says whether its load generator kept up (Generator) and where its time went
// (Attribution, with the limiting resource at a glance). When the generator was the
// bottleneck its SLO figures measured the generator as much as the target: an SLO that did
// not hold then is marked untrusted, and makes the run unknown rather than failed, in every
// file (correctness checks still fail a run).
//
// The runner fills a Summary; Write renders every file from it, and Load plus Write re-render a
// run directory (stampede report DIR).
//
// The files: summary.go (the schema and the verdicts), loadfile.go (reading it back),
// write.go (every file of a run directory), markdown.go, html.go with assets/, junit.go and
// csv.go (one format each), charts.go (what report.html draws: per run, requests per second by
// outcome and hold latency per second with every fault window a labelled band, the outcome mix
// per operation and the pool per conn tag; across runs, throughput and p99 latency per
// strategy), outcomes.go (the outcome classes and their colours: ok, refused, shed, error,
// unknown), terms.go (the glossary and the wording both reports share), sidebyside.go (the
// side-by-side bars of stampede compare), provenance.go, and gate.go (a run's verdict against a
// baseline and the statistics of repeated runs: their section of report.md, right under the
// verdict, and the gate's suite of junit.xml, a case per gated metric). The charts are drawn by
// the svg subpackage.
package reports
