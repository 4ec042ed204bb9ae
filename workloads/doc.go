// Package workloads is stampede's load generator: scenario files, the seeded plan of a herd of
// virtual users, the open-model driver that plays it against a booking system over HTTP, and
// the recorder that writes what happened as a history for the checker and as a per-second time
// series for the reports. It speaks only the booking contract (server/api.yaml), so it can
// drive any system that implements it; it imports neither the reference server nor its
// strategies.
//
// The files follow one concern each: scenario.go (the Scenario spec, Load and Parse),
// validate.go (the errors that name the file, line and field, and the validator's helpers),
// yamlindex.go (the line of every field), values.go (rates, durations, ranges and fractions as
// written), inventory.go (what is on sale and the events created for it), arrivals.go (the
// arrival profile as written), mix.go (the user mix: flows and seat picks), slo.go (the
// objectives and their typed results), gate.go (the gate: section's tolerances and the
// metrics they name), coverage.go (the least hazard counts a run must reach), pacer.go (arrival profiles behind the one-method Pacer
// interface), plan.go (the seeded per-user plan), scale.go (scaling a scenario's herd),
// client.go (the HTTP client and the ok/fail/info/shed classification), seatmap.go (seat-map
// reads of one section, in the compact form, with the fallbacks for older targets), flows.go
// (browse, buy with the waiting room, bot; retrying shed requests within the user's
// patience), scan.go (the scan flow: fans who buy, then present their tickets at gates with
// lanes of scanners, among shared screenshots and forgeries), driver.go (the open-model scheduler), recorder.go (history and metrics.jsonl),
// generator.go (the driver's account of itself: when it, not the target, limited a run),
// servermetrics.go (the target's /metrics before and after the herd), attribution.go (where
// the run's time went, and the limiting resource),
// cputime_*.go (the process's CPU time), summary.go (the end-of-run Summary), progress.go (the
// live terminal display, the heartbeat lines without one, and Driver.Printf), abort.go
// (AbortOnFail: giving up on a target that fails every request), observer.go (the Observer that live metrics hang on; workloads/prom
// exports them to Prometheus), start.go (the common start instant of sharded drivers), setup.go (creating the events once for several drivers, and
// the event prefix) and shard.go/merge.go/combine.go/metricsmerge.go (sharded runs: merging their histories, combining
// their summaries over every sample, merging their metrics per second).
//
// # Determinism
//
// A run's plan is a pure function of the scenario and the seed: user i's flow, event, seats,
// pauses and arrival offset come from its own generator, seeded from the run's seed and i
// only, and from the arrival profile, which spreads arrivals evenly at its instantaneous rate.
// The wall clock decides only when the system under test answers, and the answers decide what
// a user does next (a taken seat makes a buyer try its next pick). Sessions and idempotency
// keys carry a RunID so that runs against one server do not collide.
//
// # Open model and coordinated omission
//
// Users arrive at the profile's rate whatever the system under test does: each user is a
// goroutine started at its due time, and a slow answer delays only that user. Every request is
// timed twice with the monotonic clock, from the moment it was due (the user's arrival, or the
// end of its planned pause) and from the moment it was handed to the transport; both go into
// HdrHistograms per operation, so a driver or a connection pool that falls behind shows up in
// the intended latencies instead of hiding (wrk2's coordinated-omission correction). All users
// share one tuned http.Transport (keep-alive, many idle connections per host) and every
// request has a deadline (the scenario's request_timeout). Two bounds keep a driver that
// falls behind from drowning: at most MaxConns requests are in the transport at once (the rest
// wait their turn, and the wait shows in their latency; one whose deadline passes before it
// was sent is a fail), and at most MaxActive users run at once (an arrival beyond it is
// dropped and counted, as k6 counts dropped iterations, so memory stays bounded). Waiting-room
// streams, which hold a connection for as long as a buyer waits, have a transport of their
// own outside MaxConns.
//
// # When the driver is the bottleneck
//
// The driver measures itself: how late it began each request and each arrival after it was
// due (its lag), how long requests waited for its connection slots and how many never got
// one, the arrivals it dropped, and the CPU its process used (getrusage), per second in
// metrics.jsonl and per operation in the Summary. When these say that the driver, not the
// target, limited the run (Saturation: lag p99 of the requests that found a slot free, a share
// of slot waits unless the target slowed under the load and held the slots, any dropped
// arrival, CPU near its cores for a good part of the run; attribution.go has the rule for slot
// waits), the Summary says so (GeneratorBound, with the
// reasons and their figures) and marks its SLO results untrusted, as wrk2 and k6 warn,
// instead of letting them blame the target. Beside it, the driver reads the target's
// Prometheus metrics (GET /metrics) before the first arrival and after the last answer, and
// the Summary's Attribution says where the time went (the driver, the server's queue and
// handlers, pool waits per connection tag, the database, Redis, payments; shed requests) and
// names the limiting resource.
//
// # Outcomes
//
// Each request ends as a history.Record of type ok (it took effect), fail (it certainly did
// not: a 4xx, or an error before the request was sent), shed (503 overloaded: the target
// refused it before doing anything, so it certainly did not take effect either; counted on its
// own, not as an error) or info (unknown: a timeout or a reset after sending, any other 5xx,
// or 409 idempotency_in_progress). Info is what Jepsen calls :info; the checker lets such an
// operation take effect at any time after its call. See Classify. A browser or buyer whose
// request was shed sends it again after the delay the answer advised (Retry-After), while its
// patience lasts (Flow.Patience); bots do not wait. A seat-map read that the target refused
// for its section or compact parameter (an older target) is sent again at once without it,
// and only that last request is recorded (see seatmap.go).
//
// # Clocks and shards
//
// History times are nanoseconds since the run's Clock zero, read from the monotonic clock;
// the header record carries the wall-clock time of that zero. A run can be split into shards
// (Shard, `--shard i/n`) that run on different machines; each runs the users whose index is i
// mod n, and Merge puts their histories on one axis using each header's wall-clock start. That
// is only as good as the machines' wall clocks agree: Merge assumes every shard's clock was
// within the given skew bound of true time when its run started (NTP on a LAN keeps this to a
// few milliseconds) and that monotonic clocks advance at the same rate during a run. It widens
// every operation's interval by the bound on both sides, so the checker never orders two
// operations of different shards more tightly than the clocks allow.
package workloads
