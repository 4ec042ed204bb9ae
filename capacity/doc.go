// Package capacity finds the most load a booking system takes while staying correct: the
// highest arrival rate at which every SLO of a scenario holds and every correctness check of
// the checker passes (stampede capacity).
//
// A search (Search) offers the system a load, in arrivals per second, one step at a time,
// each step a real, seeded, bounded run behind the one-method Stepper interface: a short
// exponential climb from a start load (or descent, when the start already fails), then
// bisection until the first load that fails is within a precision of the last that held, then,
// with repeats, more runs with their own seeds at each end of that boundary, widening it until
// every run at its lower end held and none at its upper end did, so that the answer is an
// interval that covers the system's noise rather than one lucky point. The search keeps to a
// time budget (a budget that cannot hold one step is refused up front) and stops at once at a
// step whose checks failed (the system is unsafe at that load and is given no capacity: the
// answer carries the counterexample) and at a step whose load generator ran out (that is the
// generator's limit, not the system's).
//
// Around the boundary, NameLimit names what limited the system from what the steps measured
// (the generator, an attribution of where the time went, shedding, or the signal that grew
// the most: pool wait per conn tag, connection hold, database, Redis, payments), FitUSL fits
// Gunther's Universal Scalability Law to the steps' throughput against their concurrency
// (with gonum's optimize) for the contention and coherency coefficients, the predicted peak and
// the knee, and PlanOnSale turns the capacity into a waiting room's admission rate and, for an
// expected crowd, the length of the queue and the wait of its last fan.
//
// Measure is the command's pipeline: for each strategy x database it runs a search whose steps
// are run.Run on the scenario rewritten for the step's load (Runner), and writes the reports
// (reports.Capacity in summary.json, report.md, report.html with the capacity curves,
// junit.xml); ExitCode reads the verdicts by internal/exitcode.
//
// Files: step.go (Stepper, StepResult and what a step carries), search.go (Search, Options,
// Result), limit.go (NameLimit), usl.go (FitUSL), onsale.go (PlanOnSale), scenario.go (the
// load modes and a step's scenario), runner.go (Runner, the real Stepper, and FromRun, a
// step's result from a run's report), measure.go (Measure, ExitCode), report.go (the answer in
// words and the report's data) and values.go (command-line values).
package capacity
