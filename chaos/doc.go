// Package chaos is stampede's nemesis: the faults real on-sales suffer, injected on a schedule
// while the herd runs. Each fault is one file behind the small Fault interface; it acts on the
// handles a Target gives (a process we started, a SQL connection, the processor's admin
// endpoint, a network proxy in the path) and says clearly, with sut.ErrUnsupported, when the target
// cannot support it (a Redis restart against a Redis we do not own).
//
// A Schedule runs a scenario's `faults:` list against the run's clock: at an offset (`at`), or
// on an event in the server (`when: {failpoint: after-charge, hit: 100}`), for a duration
// (`for`). Every injection and recovery is written into the history as a fault-start/fault-end
// record (naming the failpoint that triggered it, if any), so reports shade fault windows and
// the checker can say which fault an anomaly followed and count the requests each caught.
// Specs mark what the checker must know of a fault: LosesHolds, Payments, Crashes. Randomness in faults (which connections to kill, which requests to fail) comes
// from the run's seed.
package chaos
