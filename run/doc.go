// Package run is the orchestrator of `stampede run`: it takes a scenario from nothing to a
// verdict and a report. For every strategy x database it asks for, it brings up the backing
// services (infra), starts the system under test (sut/reference: the reference server as a
// child process, with the payment processor; or sut/external for --target), runs the driver
// (workloads) with the fault schedule (chaos) acting on the system's handles beside it,
// settles the system, reads both ledgers, runs the checker and writes the reports (reports),
// tearing everything down afterwards, also when ctx is cancelled (Ctrl-C).
//
// Files: run.go runs the strategy x database matrix and writes the summary; single.go is one
// cell (start the system, drive, settle, read the ledgers, check); herd.go drives the herd with
// the schedule beside it; shards.go drives it as several driver processes (Options.Shards) and
// merges what they wrote; fill.go turns what was found into the report's Run; options.go holds
// Options and their defaults.
//
// A run directory holds summary.json, report.md, report.html and junit.xml, and one
// subdirectory per strategy x database with history.jsonl, metrics.jsonl, ledger.json,
// psp-ledger.json, check.json, server.log and, on a linearizability failure, porcupine's
// visualization: `stampede check` on that subdirectory judges it again.
package run
