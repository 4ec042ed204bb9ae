// Package admintoken is the one owner of how stampede's admin endpoints are locked: the
// reference server's /admin/* and the payment processor's /admin/* answer only requests that
// carry the bearer token the process was started with (`--admin-token`, STAMPEDE_ADMIN_TOKEN).
// It names the header, compares tokens in constant time, generates a token for a run, puts it
// on a client's requests, and decides whether a listen address needs one.
//
// The token is a secret: nothing here logs it, and Redacted is how messages may show it.
package admintoken

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Header is the request header that carries the token, as "Bearer TOKEN" (RFC 6750).
const Header = "Authorization"

// scheme is the authorization scheme of Header.
const scheme = "Bearer "

// Code is the stable error code of a refused admin request (401), in both contracts.
const Code = "unauthorized"

// MinLen is the shortest token a server accepts: a token shorter than this is guessable.
const MinLen = 16

// ErrUnauthorized is the outcome of an admin request without the right token.
var ErrUnauthorized = errors.New("admin endpoint: missing or wrong bearer token (Authorization: Bearer TOKEN; see --admin-token)")

// New returns a fresh random token (32 hex digits of crypto/rand), one per run.
func New() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Validate reports what is wrong with a token a server is given; the empty token (admin
// endpoints open) is valid.
func Validate(token string) error {
	if token == "" {
		return nil
	}
	if len(token) < MinLen {
		return fmt.Errorf("admin-token: at least %d characters, got %d", MinLen, len(token))
	}
	for _, c := range token {
		if c <= ' ' || c == 0x7f || c > '~' {
			return errors.New("admin-token: printable ASCII without spaces only")
		}
	}
	return nil
}

// Check reports whether r carries token. An empty token accepts every request (a server bound
// to loopback with no token configured). The comparison takes the same time whatever the
// given value shares with the token.
func Check(r *http.Request, token string) bool {
	if token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get(Header), scheme)
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// Value is Header's value that carries token.
func Value(token string) string { return scheme + token }

// Set puts token on req; an empty token sets nothing.
func Set(req *http.Request, token string) {
	if token != "" {
		req.Header.Set(Header, Value(token))
	}
}

// Require wraps h so that only requests carrying token reach it; the others get deny's
// answer (the caller's contract error shape, 401). An empty token returns h itself.
func Require(token string, h http.Handler, deny func(w http.ResponseWriter, r *http.Request)) http.Handler {
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Check(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="stampede-admin"`)
			deny(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Loopback reports whether addr (host:port, as a listener takes it) listens only on the
// loopback interface: localhost, 127.0.0.0/8 or ::1. An empty host (every interface) is not.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// RequireForAddr returns an error naming the flag when a server about to listen on addr has
// no token and addr is reachable from other machines.
func RequireForAddr(addr, token string) error {
	if token != "" || Loopback(addr) {
		return nil
	}
	return fmt.Errorf("addr %s is reachable from other machines: give --admin-token (or STAMPEDE_ADMIN_TOKEN) so that its /admin endpoints are locked, or listen on 127.0.0.1", addr)
}

// Transport is an http.RoundTripper that puts Token on every request it sends through Base
// (http.DefaultTransport when nil).
type Transport struct {
	Token string
	Base  http.RoundTripper
}

// RoundTrip implements http.RoundTripper; it does not modify the caller's request.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.Token == "" {
		return base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	Set(r, t.Token)
	return base.RoundTrip(r)
}

var _ http.RoundTripper = (*Transport)(nil)
