package api

import (
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// sessionPattern is api.yaml's X-Session-Id pattern.
var sessionPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// Session returns the request's X-Session-Id header, or ErrMissingSession / ErrInvalidSession
// (400 invalid_request naming the header).
func Session(r *http.Request) (string, error) {
	v := r.Header.Get("X-Session-Id")
	if v == "" {
		return "", ErrMissingSession
	}
	if !sessionPattern.MatchString(v) {
		return "", ErrInvalidSession
	}
	return v, nil
}

// idPattern is api.yaml's EventId pattern, used for event ids in paths and queries.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// CheckEventID returns nil when id can be an event id, or a 400 naming field (the path
// parameter or query parameter id came from).
func CheckEventID(field, id string) error {
	if !idPattern.MatchString(id) {
		return Invalid(field, "%s %q: want 1..64 characters of [A-Za-z0-9._-]", field, Truncate(id, 80))
	}
	return nil
}

// EventID returns the {event_id} path value, or a 400 naming event_id when it cannot be an
// event id.
func EventID(r *http.Request) (string, error) {
	id := r.PathValue("event_id")
	if err := CheckEventID("event_id", id); err != nil {
		return "", err
	}
	return id, nil
}

// OpaqueID returns the path value name (a hold or booking id, which api.yaml leaves
// unpatterned) and whether it can name anything the server issued: 1..64 bytes of StorableText.
// The caller answers "not found" otherwise, before any store is asked: a database refuses such a
// string as text, and that refusal is not the client's 404.
func OpaqueID(r *http.Request, name string) (string, bool) {
	id := r.PathValue(name)
	return id, id != "" && len(id) <= 64 && StorableText(id)
}

// StorableText reports whether a database takes s as text: valid UTF-8 without NUL (both
// PostgreSQL and MySQL refuse anything else, which would surface as the server's error).
func StorableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Truncate shortens s to at most n bytes for echoing in messages.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
