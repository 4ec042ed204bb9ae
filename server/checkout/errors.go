package checkout

import (
	"errors"
	"net/http"

	"stampede/server/api"
)

// Outcomes of a checkout that the client is told about; Errors maps them. Match with
// errors.Is.
var (
	// ErrMissingIdempotencyKey: checkout without an Idempotency-Key header.
	ErrMissingIdempotencyKey = errors.New("missing Idempotency-Key header")
	// ErrInvalidIdempotencyKey: an Idempotency-Key outside 8..128 characters.
	ErrInvalidIdempotencyKey = errors.New("invalid Idempotency-Key header: want 8..128 bytes of UTF-8")
	// ErrIdempotencyConflict: the key was used before with a different request.
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different request")
	// ErrIdempotencyInProgress: a request with the same key is still running.
	ErrIdempotencyInProgress = errors.New("a request with this idempotency key is in progress; retry later")
	// ErrPaymentDeclined: the processor declined the payment; nothing was charged.
	ErrPaymentDeclined = errors.New("payment declined")
)

// Errors are checkout's rows of the server's error table.
var Errors = api.Table{
	{Err: ErrMissingIdempotencyKey, Status: http.StatusBadRequest, Code: api.CodeInvalidRequest, Field: "Idempotency-Key"},
	{Err: ErrInvalidIdempotencyKey, Status: http.StatusBadRequest, Code: api.CodeInvalidRequest, Field: "Idempotency-Key"},
	{Err: ErrPaymentDeclined, Status: http.StatusPaymentRequired, Code: api.CodePaymentDeclined},
	{Err: ErrIdempotencyInProgress, Status: http.StatusConflict, Code: api.CodeIdempotencyInProgress},
	{Err: ErrIdempotencyConflict, Status: http.StatusUnprocessableEntity, Code: api.CodeIdempotencyConflict},
}
