package seatmap

import (
	"errors"
	"net/http"

	"stampede/server/api"
)

// ErrSectionNotFound: a seat-map read of a section the event has no seat in. Match with
// errors.Is.
var ErrSectionNotFound = errors.New("section not found")

// Errors are the seat map's rows of the server's error table.
var Errors = api.Table{
	{Err: ErrSectionNotFound, Status: http.StatusNotFound, Code: api.CodeSectionNotFound, Field: "section"},
}
