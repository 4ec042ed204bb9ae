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
// Files:
//
//	budget.go   Class, Config, Budget, New, Acquire: the in-flight budget and its queues
//	http.go     Wrap and Gate: the budget as HTTP middleware, the 503 answer
//	metrics.go  requests shed, in flight and waiting time per class
//	errors.go   ErrOverloaded and its row of the server's error table
package overload
