// Package shadow runs a second strategy beside the reference server's own, for a team that
// means to switch strategies and wants to know, before an on-sale, where the new one would
// decide differently. The primary strategy (A) answers every buyer; every hold, release and
// confirm it decides is also replayed, asynchronously, against the shadow strategy (B) on B's
// own copy of the inventory (its own PostgreSQL schema or MySQL database, its own Redis key
// prefix), and each decision on which the two differ is recorded as a Divergence with the seats,
// the time and both decisions. The primary's answer is never changed and never waits for the
// shadow: the server wraps its strategy in Shadow.Wrap, whose only work on the request's path is
// to stamp the operation and put its outcome on a bounded queue; when the queue is full the
// operation is dropped and counted.
//
// Order. The primary decides concurrently, and the shadow must see A's decisions in an order A
// could have made them, or a refusal replayed before the grant that caused it looks like a
// divergence. Every operation is stamped from one counter when it starts and when it ends; an
// operation is replayed only once every operation that started before it ended has ended too
// (everything A may have ordered before it is known). Among those, the replay order is chosen
// with a model of A's seats built from A's own answers: a hold A granted goes after the release
// that freed its seats, a hold A refused after the grant that took them and before a release of
// those seats it overlapped (A refused it before the release took effect, even when the release
// ended first). Holds A granted are given to B with the lifetime A's hold has left, so that both
// expire together.
//
// Replay. Operations on disjoint seats are replayed on B concurrently (Config.Workers at a time,
// each bounded by Config.Timeout); operations that share a seat or a tier, one at a time in that
// order. B is therefore judged on its decisions given A's sequence, not on its own races. When
// B grants a hold A refused, B's hold is released at once, so that B stays in step with A; when
// B refuses a hold A granted, the later release or confirm of that hold is not replayed
// (skipped). Operations whose outcome A did not decide (an internal error, a cancelled request,
// a failed charge) are skipped, not compared.
//
// Files:
//
//	shadow.go   Config, Shadow, New, Wrap, Run: the wrapper and the queue
//	order.go    the model of A's seats that orders a batch
//	replay.go   one operation against B, compared with A's answer
//	report.go   Divergence, Report, the kinds, GET /admin/shadow
//	metrics.go  the Prometheus metrics
package shadow
