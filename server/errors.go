package server

import (
	"errors"
	"net/http"
	"slices"

	"stampede/internal/admintoken"
	"stampede/server/api"
	"stampede/server/checkout"
	"stampede/server/overload"
	"stampede/server/seatmap"
	"stampede/server/tickets"
	"stampede/server/waitingroom"
)

// errBookingNotFound: no booking has that id. Other outcomes come from the strategies, the
// areas (waitingroom, checkout) and server/api; match with errors.Is.
var errBookingNotFound = errors.New("booking not found")

// errorTable maps every error a handler may return to its HTTP status and stable code: the one
// place where outcomes become HTTP. It is composed of the shared rows (the strategies' errors,
// sessions, invalid requests), each area's own rows, the server's, and last the rows of unknown
// outcomes (unavailable, a passed deadline), so that a more specific error wrapped together with
// those keeps its own answer. Anything not listed is a logged 500 internal.
var errorTable = slices.Concat(
	api.Common,
	waitingroom.Errors,
	checkout.Errors,
	seatmap.Errors,
	overload.Errors,
	tickets.Errors,
	api.Table{
		{Err: errBookingNotFound, Status: http.StatusNotFound, Code: api.CodeBookingNotFound},
		{Err: admintoken.ErrUnauthorized, Status: http.StatusUnauthorized, Code: api.CodeUnauthorized},
	},
	api.Unknown,
)

// writeError sends err as the api.yaml Error JSON with the status errorTable maps it to (see
// api.Table.Write).
func writeError(w http.ResponseWriter, r *http.Request, err error) { errorTable.Write(w, r, err) }

// errorCode returns the stable code err maps to ("internal" when unmapped), for metrics labels.
func errorCode(err error) string { return errorTable.Code(err) }
