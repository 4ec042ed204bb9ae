package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
)

// MaxBodyBytes bounds every request body the server decodes (1 MiB): an event spec with hundreds
// of sections fits many times over, and a client cannot make the server buffer more.
const MaxBodyBytes = 1 << 20

// DecodeJSON reads r's body as one JSON object into v. It is liberal with unknown fields (a newer
// client may send more) and strict with types. Every failure is an *Error with status 400, or
// 413 for a body over MaxBodyBytes, whose message names what is wrong, for example
// `field "quantity": want integer, got string`.
func DecodeJSON(r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody {
		return Invalid("", "request body: empty; want a JSON object")
	}
	body := http.MaxBytesReader(nil, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// One object only: anything but whitespace after it is a malformed body.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err)
		}
		return Invalid("", "request body: unexpected data after the JSON object")
	}
	return nil
}

// jsonError turns an encoding/json or body-reading error into a client error.
func jsonError(err error) *Error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return &Error{
			Status:  http.StatusRequestEntityTooLarge,
			Code:    CodeBodyTooLarge,
			Message: fmt.Sprintf("request body: larger than %d bytes", mbe.Limit),
			Cause:   err,
		}
	case errors.Is(err, io.EOF):
		return Invalid("", "request body: empty; want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid("", "request body: malformed JSON: unexpected end of input")
	case errors.As(err, &se):
		return Invalid("", "request body: malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		if te.Field == "" {
			return Invalid("", "request body: want a JSON object, got %s", te.Value)
		}
		return Invalid(te.Field, "field %q: want %s, got %s", te.Field, jsonKind(te.Type), te.Value)
	}
	// Errors from a field's own UnmarshalJSON (none of our request types has one) and read
	// errors of the connection.
	return Invalid("", "request body: %s", err.Error())
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.String()
}

// WriteJSON sends v as JSON with status. v is encoded before anything is written, so an encoding
// failure is still a clean 500.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
		status = http.StatusInternalServerError
	}
	WriteRawJSON(w, status, b)
}

// WriteRawJSON sends b, which must already be JSON, with status.
func WriteRawJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte{'\n'})
}
