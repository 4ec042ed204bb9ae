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
// Options and their defaults; gate.go checks a baseline before the runs (--baseline) and
// judges the runs against it after them; provenance.go records where the numbers came from
// (the build, the scenario file, the seeds, the machine, the services' versions).
//
// With Repeat N every strategy x database runs N times, repetition j with seed
// workloads.RepeatSeed(seed, j), each in its own subdirectory (skip-locked-postgres-2/); the
// summary keeps every run and the statistics over them (compare.Samples).
//
// A run directory holds summary.json, report.md, report.html and junit.xml, and one
// subdirectory per strategy x database with history.jsonl, metrics.jsonl, ledger.json,
// psp-ledger.json, check.json, server.log and, on a linearizability failure, porcupine's
// visualization: `stampede check` on that subdirectory judges it again.
package run
