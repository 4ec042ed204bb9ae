// Package run is the glue of `stampede run`: it takes a scenario from nothing to a verdict and
// a report. For every strategy x database it asks for, it brings up the backing services
// (infra), starts the payment processor and the reference server (as a child process, so
// chaos can kill it), runs the driver (workloads) with the fault schedule (chaos) beside it,
// drains, fetches both ledgers, runs the checker, and writes the reports, tearing everything
// down afterwards, also when ctx is cancelled (Ctrl-C).
//
// A run directory holds summary.json, report.md, report.html and junit.xml, and one
// subdirectory per strategy x database with history.jsonl, metrics.jsonl, ledger.json,
// psp-ledger.json, server.log and, on a linearizability failure, porcupine's visualization.
package run
