package waitingroom

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Admission tokens and queue tickets are self-contained, HMAC-SHA256 signed strings:
//
//	base64url(payload) "." base64url(HMAC-SHA256(secret, payload))
//
// An admission token's payload is "a1|event|session|issued_unix_ms|expires_unix_ms"; a queue
// ticket's is "t1|event|session|run". The leading kind and version are inside the signed
// payload, so a ticket can never pass as a token or the other way round. Neither needs Redis to
// be checked: a token stays valid across a Redis restart, and every server process configured
// with the same secret accepts the tokens of the others. Event ids and session ids cannot
// contain '|' (api.yaml patterns), which keeps the payload unambiguous.

// Token kinds, the first field of a signed payload.
const (
	kindAdmission = "a1"
	kindTicket    = "t1"
)

// errBadSignedValue is what parseSigned returns for anything that is not a well-formed value
// carrying a valid signature; callers wrap it with what they were parsing.
var errBadSignedValue = errors.New("malformed or forged")

// signer signs and checks tokens and tickets with one secret. It is safe for concurrent use.
type signer struct {
	secret []byte
}

// newSigner returns a signer over secret, or over 32 random bytes when secret is empty. The
// second result reports whether the secret was generated: such a secret dies with the process,
// so tokens from a restarted or another process are refused (give every process the same
// Config.Secret).
func newSigner(secret []byte) (*signer, bool, error) {
	if len(secret) > 0 {
		return &signer{secret: append([]byte(nil), secret...)}, false, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, false, fmt.Errorf("generate admission secret: %w", err)
	}
	return &signer{secret: b}, true, nil
}

func (g *signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, g.secret)
	m.Write(payload)
	return m.Sum(nil)
}

// sign joins fields with '|' and returns the signed value.
func (g *signer) sign(fields ...string) string {
	payload := []byte(strings.Join(fields, "|"))
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(g.mac(payload))
}

// parseSigned checks v's signature and returns its fields when its kind is kind and it has n
// fields (kind included). Any other value gives errBadSignedValue.
func (g *signer) parseSigned(v, kind string, n int) ([]string, error) {
	p, s, ok := strings.Cut(v, ".")
	if !ok || len(v) > 2048 {
		return nil, errBadSignedValue
	}
	enc := base64.RawURLEncoding
	payload, err := enc.DecodeString(p)
	if err != nil {
		return nil, errBadSignedValue
	}
	sig, err := enc.DecodeString(s)
	if err != nil || !hmac.Equal(sig, g.mac(payload)) {
		return nil, errBadSignedValue
	}
	fields := strings.Split(string(payload), "|")
	if len(fields) != n || fields[0] != kind {
		return nil, errBadSignedValue
	}
	return fields, nil
}

// admission is what an admission token says.
type admissionClaims struct {
	Event   string
	Session string
	Issued  time.Time
	Expires time.Time
}

// admissionToken signs an admission of session to event, issued at issued and valid for ttl.
// Times are kept to the millisecond. The same inputs always give the same token, so every
// process that reads the same admission record from Redis hands out the same token.
func (g *signer) admissionToken(event, session string, issued time.Time, ttl time.Duration) string {
	return g.sign(kindAdmission, event, session,
		strconv.FormatInt(issued.UnixMilli(), 10), strconv.FormatInt(issued.Add(ttl).UnixMilli(), 10))
}

// Reasons an admission token is refused; each wraps ErrNotAdmitted, so the error table answers
// 403 not_admitted, and the message tells the client which.
var (
	errTokenMissing      = fmt.Errorf("%w: no admission_token; join the queue at POST /events/{id}/queue first", ErrNotAdmitted)
	errTokenForged       = fmt.Errorf("%w: admission token is malformed or its signature is wrong", ErrNotAdmitted)
	errTokenOtherEvent   = fmt.Errorf("%w: admission token was issued for another event", ErrNotAdmitted)
	errTokenOtherSession = fmt.Errorf("%w: admission token was issued to another session", ErrNotAdmitted)
	errTokenExpired      = fmt.Errorf("%w: admission token has expired; join the queue again", ErrNotAdmitted)
)

// verifyAdmission checks that token admits session to event at now. It returns the admission,
// or one of errTokenMissing, errTokenForged, errTokenOtherEvent, errTokenOtherSession,
// errTokenExpired (all wrapping ErrNotAdmitted).
func (g *signer) verifyAdmission(token, event, session string, now time.Time) (admissionClaims, error) {
	if token == "" {
		return admissionClaims{}, errTokenMissing
	}
	f, err := g.parseSigned(token, kindAdmission, 5)
	if err != nil {
		return admissionClaims{}, errTokenForged
	}
	issued, err1 := strconv.ParseInt(f[3], 10, 64)
	expires, err2 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil {
		// Signed by us but unreadable: only a different token version could do that.
		return admissionClaims{}, errTokenForged
	}
	a := admissionClaims{Event: f[1], Session: f[2], Issued: time.UnixMilli(issued), Expires: time.UnixMilli(expires)}
	switch {
	case a.Event != event:
		return a, errTokenOtherEvent
	case a.Session != session:
		return a, errTokenOtherSession
	case !now.Before(a.Expires):
		return a, fmt.Errorf("%w (at %s)", errTokenExpired, a.Expires.UTC().Format(time.RFC3339))
	}
	return a, nil
}

// ticket is what a queue ticket says: which event's queue, which session, and the run id of the
// queue it joined (see the package's waiting-room notes on Redis restarts).
type queueTicket struct {
	Event   string
	Session string
	Run     string
}

// ticket signs a queue ticket.
func (g *signer) ticket(t queueTicket) string {
	return g.sign(kindTicket, t.Event, t.Session, t.Run)
}

// parseTicket checks a ticket's signature and returns what it says; ErrTicketNotFound (404
// ticket_not_found) for anything that is not a ticket this server signed.
func (g *signer) parseTicket(v string) (queueTicket, error) {
	f, err := g.parseSigned(v, kindTicket, 4)
	if err != nil {
		return queueTicket{}, fmt.Errorf("%w: malformed or forged ticket", ErrTicketNotFound)
	}
	return queueTicket{Event: f[1], Session: f[2], Run: f[3]}, nil
}
