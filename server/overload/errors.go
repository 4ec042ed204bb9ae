package overload

import (
	"errors"
	"net/http"

	"stampede/server/api"
)

// ErrOverloaded: the request was refused before it did anything, because its class of request
// was over its share of the in-flight budget for longer than the queue wait. The client may
// retry after the Retry-After delay. Match with errors.Is.
var ErrOverloaded = errors.New("server overloaded")

// Errors are the budget's rows of the server's error table.
var Errors = api.Table{
	{Err: ErrOverloaded, Status: http.StatusServiceUnavailable, Code: api.CodeOverloaded},
}
