// Package waitingroom is the reference server's waiting room: per-event queues in Redis shared
// by every server process, an admitter that lets sessions in at the event's rate, HMAC-signed
// admission tokens that holds need, and Server-Sent Event streams of a session's place. The
// server builds one Room (New), routes the queue endpoints of api.yaml to its handlers, runs
// its admitter (Room.Run) and asks it before a hold (Room.CheckAdmission). It never imports the
// server: what it needs from it comes in its Config (the error table, a clock, the event store).
//
// Sessions are admitted in the order they joined, at the event's rate (changeable at run time)
// times this process's pace (Config.Pace: adaptive admission, the server's overload headroom,
// so admission slows while admitted buyers' holds are slow; a tenth of the rate at least), and
// get an admission token bound to session and event. When Redis loses the queue (a restart
// without persistence), the queue is not rebuilt or silently reordered: tickets carry the run
// id of their queue, so old tickets are answered 404 ticket_not_found saying the queue was
// reset, sessions that join again get places in a new queue in their new join order, and tokens
// already issued stay valid until they expire, since they are checked without Redis. queue.go
// has the details.
//
// Files:
//
//	room.go       Config, Room, New; the admitter (Run), the event settings cache, CheckAdmission
//	handlers.go   POST /events/{event_id}/queue, GET /queue/{ticket},
//	              PUT /admin/events/{event_id}/waiting-room
//	stream.go     GET /queue/{ticket}/stream: broadcasters and SSE streams
//	queue.go      the Redis queue of an event: its keys and Lua scripts (join, status, head, admit)
//	admission.go  signed admission tokens and queue tickets
//	metrics.go    the waiting room's Prometheus metrics
//	errors.go     the sentinel errors and their rows of the server's error table
package waitingroom
