package waitingroom

import (
	"errors"
	"net/http"

	"stampede/server/api"
)

// Outcomes of the waiting room that the client is told about; Errors maps them. Match with
// errors.Is.
var (
	// ErrNotAdmitted: a hold on an event with a waiting room without a valid admission token.
	ErrNotAdmitted = errors.New("not admitted by the waiting room")
	// ErrWaitingRoomOff: joining the queue of an event that has no waiting room.
	ErrWaitingRoomOff = errors.New("the event has no waiting room")
	// ErrTicketNotFound: an unknown (or another session's) queue ticket.
	ErrTicketNotFound = errors.New("queue ticket not found")
	// ErrQueueFull: a join refused because the event's queue has Config.MaxQueueLength
	// sessions waiting; it comes with Retry-After.
	ErrQueueFull = errors.New("the waiting room's queue is full")
	// ErrTooManyStreams: a stream refused because its session has
	// Config.MaxStreamsPerSession streams open in this process.
	ErrTooManyStreams = errors.New("too many open streams for this session")
)

// Errors are the waiting room's rows of the server's error table.
var Errors = api.Table{
	{Err: ErrNotAdmitted, Status: http.StatusForbidden, Code: api.CodeNotAdmitted},
	{Err: ErrWaitingRoomOff, Status: http.StatusConflict, Code: api.CodeWaitingRoomOff},
	{Err: ErrTicketNotFound, Status: http.StatusNotFound, Code: api.CodeTicketNotFound},
	{Err: ErrQueueFull, Status: http.StatusServiceUnavailable, Code: api.CodeQueueFull},
	{Err: ErrTooManyStreams, Status: http.StatusTooManyRequests, Code: api.CodeTooManyStreams},
}
