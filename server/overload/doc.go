// Package overload keeps the reference server useful to the buyers it has let in when a herd
// arrives: it bounds the requests in flight with one budget that classes of request share by
// rank, checkout > hold > join > browse, so that when the server is saturated browsing is refused
// first and a buyer who holds seats can still pay. The server wraps each route of a class in
// Budget.Wrap (Budget.Gate for the waiting room's long-lived streams); admin, health, metrics and
// contract routes are never wrapped, so they are never refused.
//
// The rule. MaxInFlight is the budget. A request of class c is let in while the requests in
// flight, of every class together, are fewer than c's ceiling: half the budget for browse, 70%
// for join, 90% for hold and all of it for checkout (Ceiling). So browsing alone can fill at
// most half of the server, and each higher class keeps room that only it and the classes above
// it can use. A request over its ceiling waits in its class's queue for at most the queue wait
// (50 ms by default); a slot that frees goes to the waiter of the highest class whose ceiling
// allows it, first come first served within a class. A request still waiting at the end of the
// queue wait, or that finds MaxInFlight requests of its class already waiting, is refused with
// ErrOverloaded: 503 code overloaded with Retry-After, and nothing was done.
//
// Waiting outside the server. The budget bounds the server's own work. A checkout waiting on
// the payment processor does none, so it steps out of the budget for the call (StepOut) and
// comes back when the answer arrives, without waiting or refusal: a slow processor, with
// hundreds of checkouts waiting on it, then leaves the budget to the holds and browsing that
// need only the server, instead of filling it so that they are shed.
// stampede_http_class_requests_away counts the requests out now.
//
// The adaptive limit. With Config.Target set, MaxInFlight is only the most the budget allows:
// the limit the ceilings are shares of follows the service time of holds, an AIMD controller as
// in Netflix's concurrency-limits (limit.go). A window of holds whose p90 is over the target
// cuts the limit by a fifth (down to MinInFlight); a window within it that found the limit
// reached grows it by its square root. A herd that slows the server's own work therefore
// shrinks what is let in until the admitted buyers' holds are fast again, and everything beyond
// is refused at once, lowest class first, rather than queued behind them.
// stampede_http_concurrency_limit is the limit now.
//
// Files:
//
//	budget.go   Class, Config, Budget, New, Acquire, StepOut: the in-flight budget and its queues
//	limit.go    the adaptive limit: AIMD over the holds' service time against Config.Target
//	http.go     Wrap, Gate and Enter: the budget as HTTP middleware, the 503 answer
//	metrics.go  requests shed, in flight and waiting time per class; the limit now
//	errors.go   ErrOverloaded and its row of the server's error table
package overload
