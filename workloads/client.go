package workloads

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"stampede/history"
	"stampede/internal/admintoken"
)

// NewTransport returns the HTTP transport the driver shares between all its users: keep-alive
// on, many idle connections per host (a herd talks to one host), no transparent compression
// (the driver measures the server, not its own gzip reader; browse pages ask for gzip
// themselves and are not inflated), and bounded dial and header waits. maxConns bounds the
// connections per host; 0 means no bound.
func NewTransport(maxConns int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   100_000,
		MaxConnsPerHost:       maxConns,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: 0, // the per-request context deadline bounds it
		ExpectContinueTimeout: 0,
	}
}

// codeOverloaded is the error code of a request the target shed (503 with Retry-After).
const codeOverloaded = "overloaded"

// Classify turns what a client saw into an outcome, following api.yaml: a 2xx took effect
// (ok); a 4xx certainly had no effect (fail), except 409 idempotency_in_progress, whose
// attempt is still running (info); a 503 with code overloaded was shed before the system did
// anything (shed: certainly no effect, counted on its own); any other 5xx, a 1xx or 3xx, or an
// error after the request was (perhaps partly) sent is unknown (info); an error before
// anything was sent is a fail.
func Classify(status int, code string, err error, sent bool) history.Type {
	if err != nil && status == 0 {
		if sent {
			return history.Info
		}
		return history.Fail
	}
	switch {
	case status >= 200 && status < 300:
		if err != nil {
			// The answer was cut short: it took effect, but we could not read what it was.
			return history.Info
		}
		return history.Ok
	case status == http.StatusConflict && code == "idempotency_in_progress":
		return history.Info
	case status == http.StatusServiceUnavailable && code == codeOverloaded:
		return history.Shed
	case status >= 400 && status < 500:
		return history.Fail
	default:
		return history.Info
	}
}

// client speaks the booking contract (api.yaml) for the driver's users.
type client struct {
	base string
	hc   *http.Client
	// more, when set, spreads users over several clients (by session), each with its own
	// transport, so that their locks are not one hot spot under a large herd.
	more []*http.Client
	// stream sends the waiting-room streams; nil means hc. Each holds a connection for as long
	// as its user waits, so they go through a transport of their own, outside slots: a queue of
	// waiting buyers never takes the connections of ordinary requests.
	stream *http.Client
	// slots, when set, bounds the requests handed to the transport at once (one token a
	// request). Requests beyond it wait here, on a channel, instead of in the transport's
	// queue of connection waiters, whose single lock becomes a convoy under a large herd.
	slots   chan struct{}
	timeout time.Duration
	clock   *Clock
	// inFlight counts the ordinary requests under way, streams the open waiting-room streams.
	inFlight atomic.Int64
	streams  atomic.Int64
	// seatMap remembers what the target understood of the seat-map parameters (seatmap.go).
	seatMap seatMapSupport
}

// caller is the user a request is sent for, as the client sees it: its index (the history's
// client id), its session, and what the client measured of its last request besides the
// record. A caller belongs to one user's goroutine.
type caller struct {
	index   int
	session string
	last    exchange
}

// exchange is what the driver measured of one request besides its record: when the driver
// began it (before waiting for a connection slot), how long it waited for a slot and whether
// it never got one, and the delay a shed answer advised (Retry-After).
type exchange struct {
	begin      int64 // on the run's clock
	slotWait   time.Duration
	starved    bool
	retryAfter time.Duration
}

// sessionOf is the session of who, or none for the driver's own requests (who nil).
func sessionOf(who *caller) string {
	if who == nil {
		return ""
	}
	return who.session
}

// pick returns the HTTP client of a session: the same one for every request of a user, so
// the user keeps its connection.
func (c *client) pick(session string) *http.Client {
	if len(c.more) == 0 {
		return c.hc
	}
	h := uint32(2166136261)
	for i := 0; i < len(session); i++ {
		h = (h ^ uint32(session[i])) * 16777619
	}
	return c.more[h%uint32(len(c.more))]
}

// answer is one HTTP exchange as a user saw it.
type answer struct {
	status   int
	code     string // error.code of a JSON error body
	msg      string
	seats    []string // error.seats of seat_unavailable
	refundID string
	replayed bool
	body     []byte
	err      error
	sent     bool
	call     int64 // when the request was handed to the transport, on the run's clock
	ret      int64 // when the answer (or the error) was in
	typ      history.Type
}

var jsonType = []string{"application/json"}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxBody bounds what the driver reads of one answer (a large seat map is a few MiB).
const maxBody = 64 << 20

// do sends one request for who (nil: the driver's own) and reads the whole answer, within
// the request deadline. What it measured besides the answer goes to who.last.
func (c *client) do(ctx context.Context, who *caller, method, path string, hdr map[string]string, body []byte) answer {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.doCtx(ctx, who, method, path, hdr, body, nil)
}

// doCtx is do without its own deadline; when stream is set it reads the body through it
// instead of buffering it, on the stream transport and outside the connection slots.
func (c *client) doCtx(ctx context.Context, who *caller, method, path string, hdr map[string]string, body []byte, stream func(io.Reader) error) answer {
	var a answer
	ex := exchange{begin: c.clock.Now()}
	if who != nil {
		defer func() { who.last = ex }()
	}
	if c.slots != nil && stream == nil {
		// Wait for a slot before building anything, so a waiting request costs little.
		select {
		case c.slots <- struct{}{}:
		default:
			select {
			case c.slots <- struct{}{}:
				ex.slotWait = time.Duration(c.clock.Now() - ex.begin)
			case <-ctx.Done():
				// Never sent: the deadline passed while every connection was busy.
				a.call = c.clock.Now()
				a.ret = a.call
				a.err = fmt.Errorf("wait for a connection: %w", ctx.Err())
				a.typ = history.Fail
				ex.slotWait, ex.starved = time.Duration(a.call-ex.begin), true
				return a
			}
		}
		defer func() { <-c.slots }()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, c.base+path, rd)
	if err != nil {
		a.err = fmt.Errorf("build request: %w", err)
		a.typ = history.Fail
		a.call = c.clock.Now()
		a.ret = a.call
		return a
	}
	// Canonical keys assigned directly: Header.Set would canonicalise them on every request.
	if body != nil {
		req.Header["Content-Type"] = jsonType
	}
	session := sessionOf(who)
	if session != "" {
		req.Header["X-Session-Id"] = []string{session}
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	hc := c.pick(session)
	if stream != nil {
		c.streams.Add(1)
		defer c.streams.Add(-1)
		if c.stream != nil {
			hc = c.stream
		}
	} else {
		c.inFlight.Add(1)
		defer c.inFlight.Add(-1)
	}
	// The transport directly, not Client.Do: the driver follows no redirects and sets its own
	// deadlines, and Client.Do would copy every request's headers for redirects it never makes.
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	a.call = c.clock.Now()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		a.ret = c.clock.Now()
		a.err = err
		a.sent = wrote.Load()
		a.typ = Classify(0, "", err, a.sent)
		return a
	}
	a.sent = true
	a.status = resp.StatusCode
	a.replayed = resp.Header.Get("Idempotent-Replayed") == "true"
	if a.status == http.StatusServiceUnavailable {
		ex.retryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	if stream != nil && resp.StatusCode == http.StatusOK {
		a.err = stream(resp.Body)
	} else {
		buf := bufPool.Get().(*bytes.Buffer)
		buf.Reset()
		_, rerr := buf.ReadFrom(io.LimitReader(resp.Body, maxBody))
		if rerr != nil {
			a.err = fmt.Errorf("read answer: %w", rerr)
		}
		a.body = bytes.Clone(buf.Bytes())
		if buf.Cap() <= 1<<20 {
			bufPool.Put(buf)
		}
	}
	resp.Body.Close()
	a.ret = c.clock.Now()
	if a.status >= 400 && len(a.body) > 0 {
		var e errorBody
		if json.Unmarshal(a.body, &e) == nil {
			a.code, a.msg, a.seats, a.refundID = e.Error.Code, e.Error.Message, e.Error.Seats, e.Error.RefundID
		}
	}
	a.typ = Classify(a.status, a.code, a.err, true)
	return a
}

// errorBody is api.yaml's Error body, as an error answer or a stream's `error` event carries it.
type errorBody struct {
	Error struct {
		Code     string   `json:"code"`
		Message  string   `json:"message"`
		Seats    []string `json:"seats"`
		RefundID string   `json:"refund_id"`
	} `json:"error"`
}

// DefaultRetryAfter is the delay a user waits before retrying a shed request whose answer
// advised none (or one it could not read).
const DefaultRetryAfter = time.Second

// retryAfter reads a Retry-After header (RFC 9110: delay-seconds or an HTTP-date, compared
// with now); an absent, unreadable or past value gives DefaultRetryAfter.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultRetryAfter
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > math.MaxInt64/int64(time.Second) {
			return DefaultRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
		return 0
	}
	return DefaultRetryAfter
}

// errText is the short error text of a record: the transport error or the server's message.
func (a *answer) errText() string {
	s := a.msg
	if a.err != nil {
		s = a.err.Error()
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// out fills the common part of a record's output.
func (a *answer) out() history.Output {
	return history.Output{Status: a.status, Code: a.code, Error: a.errText()}
}

func (a *answer) record(client int, op history.Kind, in history.Input) history.Record {
	return history.Record{Client: client, Op: op, In: in, Call: a.call, Ret: a.ret, Out: a.out(), Type: a.typ}
}

// holdAnswer is api.yaml's Hold.
type holdAnswer struct {
	HoldID    string   `json:"hold_id"`
	EventID   string   `json:"event_id"`
	Seats     []string `json:"seats"`
	Tier      string   `json:"tier"`
	Quantity  int      `json:"quantity"`
	Units     []string `json:"units"`
	ExpiresAt string   `json:"expires_at"`
	TTLMillis int64    `json:"ttl_ms"`
}

// hold sends POST /events/{id}/holds and records it.
func (c *client) hold(ctx context.Context, who *caller, in history.Input) (history.Record, holdAnswer) {
	req := struct {
		Seats    []string `json:"seats,omitempty"`
		Tier     string   `json:"tier,omitempty"`
		Quantity int      `json:"quantity,omitempty"`
		Token    string   `json:"admission_token,omitempty"`
	}{in.Seats, in.Tier, in.Quantity, in.Token}
	body, _ := json.Marshal(req)
	a := c.do(ctx, who, http.MethodPost, "/events/"+url.PathEscape(in.Event)+"/holds", nil, body)
	rec := a.record(who.index, history.OpHold, in)
	var h holdAnswer
	switch {
	case a.typ == history.Ok:
		if err := json.Unmarshal(a.body, &h); err != nil || h.HoldID == "" {
			// It took effect, but we cannot tell which hold it made.
			rec.Type = history.Info
			rec.Out.Error = "hold answer without a hold id"
			return rec, holdAnswer{}
		}
		rec.Out.HoldID = h.HoldID
		rec.Out.Seats = h.Seats
		rec.Out.Units = h.Units
		rec.Out.TTLMillis = h.TTLMillis
		if t, err := time.Parse(time.RFC3339Nano, h.ExpiresAt); err == nil {
			rec.Out.ExpiresAt = t.UnixNano()
		}
	case a.code == "seat_unavailable":
		rec.Out.Seats = a.seats
	}
	return rec, h
}

// release sends DELETE /holds/{id} and records it.
func (c *client) release(ctx context.Context, who *caller, in history.Input) history.Record {
	a := c.do(ctx, who, http.MethodDelete, "/holds/"+url.PathEscape(in.HoldID), nil, nil)
	return a.record(who.index, history.OpRelease, in)
}

// checkout sends POST /holds/{id}/checkout with the Idempotency-Key and records it.
func (c *client) checkout(ctx context.Context, who *caller, method string, in history.Input) (history.Record, []issuedTicket) {
	body, _ := json.Marshal(map[string]string{"payment_method": method})
	a := c.do(ctx, who, http.MethodPost, "/holds/"+url.PathEscape(in.HoldID)+"/checkout",
		map[string]string{"Idempotency-Key": in.Key}, body)
	rec := a.record(who.index, history.OpCheckout, in)
	rec.Out.Replayed = a.replayed
	rec.Out.RefundID = a.refundID
	if a.typ == history.Ok {
		var b struct {
			BookingID string         `json:"booking_id"`
			ChargeID  string         `json:"charge_id"`
			Seats     []string       `json:"seats"`
			Tickets   []issuedTicket `json:"tickets"`
		}
		if err := json.Unmarshal(a.body, &b); err != nil || b.BookingID == "" {
			rec.Type = history.Info
			rec.Out.Error = "checkout answer without a booking id"
			return rec, nil
		}
		rec.Out.BookingID, rec.Out.ChargeID, rec.Out.Seats = b.BookingID, b.ChargeID, b.Seats
		for _, t := range b.Tickets {
			rec.Out.Tickets = append(rec.Out.Tickets, t.TicketID)
		}
		return rec, b.Tickets
	}
	return rec, nil
}

// page sends one browse request and records it.
func (c *client) page(ctx context.Context, who *caller, event string, pg Page) history.Record {
	var path string
	switch pg.Kind {
	case PageList:
		path = "/events"
	case PageEvent:
		path = "/events/" + url.PathEscape(event)
	case PageSearch:
		path = "/events/search?q=" + url.QueryEscape(pg.Query)
	default:
		path = "/events/" + url.PathEscape(event) + "/seats"
	}
	// A browsing person's browser asks for gzip; the driver keeps the body as it came (it reads
	// nothing in a page), so a herd of browsers costs the target what browsers would, without
	// the driver's CPU spent inflating it.
	a := c.do(ctx, who, http.MethodGet, path, browseHeaders, nil)
	return a.record(who.index, history.OpBrowse, history.Input{Event: event, Session: who.session})
}

// browseHeaders are the headers of a browse request.
var browseHeaders = map[string]string{"Accept-Encoding": "gzip"}

// queueStatus is api.yaml's QueueStatus.
type queueStatus struct {
	Ticket         string  `json:"ticket"`
	Position       int     `json:"position"`
	Length         int     `json:"length"`
	ETASeconds     float64 `json:"eta_seconds"`
	Admitted       bool    `json:"admitted"`
	AdmissionToken string  `json:"admission_token"`
}

// errNotAdmitted means a stream ended before the session was admitted.
var errNotAdmitted = errors.New("stream ended before admission")

// streamError is a stream's final `error` event: the server's word that the ticket is done
// for (the queue was reset, the admission expired), with api.yaml's Error code and message.
// Opening the stream again would only be answered the same.
type streamError struct{ code, msg string }

func (e *streamError) Error() string { return "stream error " + e.code + ": " + e.msg }

// join enters the waiting room (POST /events/{id}/queue) and follows the ticket's SSE stream
// until the session is admitted, reconnecting (at most a few times) when a stream ends early.
// The whole wait is bounded by wait. It returns the record of the join, with Call at the POST
// and Ret at the admission, and the admission token ("" when not admitted). A room that is off
// (409 waiting_room_off) is an ok join without a token.
func (c *client) join(ctx context.Context, who *caller, event string, wait time.Duration) (history.Record, string) {
	in := history.Input{Event: event, Session: who.session}
	a := c.do(ctx, who, http.MethodPost, "/events/"+url.PathEscape(event)+"/queue", nil, nil)
	rec := a.record(who.index, history.OpJoin, in)
	if a.code == "waiting_room_off" {
		rec.Type = history.Ok
		return rec, ""
	}
	if a.typ != history.Ok {
		return rec, ""
	}
	var qs queueStatus
	if err := json.Unmarshal(a.body, &qs); err != nil || qs.Ticket == "" {
		rec.Type = history.Info
		rec.Out.Error = "queue answer without a ticket"
		return rec, ""
	}
	if qs.Admitted && qs.AdmissionToken != "" {
		return rec, qs.AdmissionToken
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	path := "/queue/" + url.PathEscape(qs.Ticket) + "/stream"
	// The join's record keeps the POST's measurements (who.last): the stream's time is the
	// wait in the queue, not the driver's.
	streamer := caller{index: who.index, session: who.session}
	for attempt := 0; attempt < 5; attempt++ {
		var token string
		sa := c.doCtx(wctx, &streamer, http.MethodGet, path, map[string]string{"Accept": "text/event-stream"}, nil,
			func(r io.Reader) error {
				t, err := followSSE(r)
				token = t
				return err
			})
		rec.Ret = sa.ret
		if token != "" {
			rec.Out.Status = sa.status
			return rec, token
		}
		var final *streamError
		if errors.As(sa.err, &final) {
			// The server ended the ticket (a waiting room that lost its Redis says so to every
			// fan at once): the join failed with its code, and no fan opens the stream again.
			rec.Type, rec.Out.Status, rec.Out.Code, rec.Out.Error = history.Fail, sa.status, final.code, final.msg
			return rec, ""
		}
		if wctx.Err() != nil {
			break
		}
		backoff := time.Duration(attempt+1) * 100 * time.Millisecond
		if sa.typ == history.Shed {
			// The stream was shed: reconnect when the target advised, within the wait.
			backoff = max(backoff, streamer.last.retryAfter)
		} else if sa.status != http.StatusOK {
			rec.Type = sa.typ
			if sa.typ == history.Ok {
				rec.Type = history.Fail
			}
			rec.Out = sa.out()
			return rec, ""
		}
		select {
		case <-wctx.Done():
		case <-time.After(backoff):
		}
	}
	// Joined but never admitted within the wait: the join itself took effect.
	rec.Ret = c.clock.Now()
	rec.Type = history.Fail
	rec.Out.Code = codeNotAdmitted
	rec.Out.Error = "not admitted within the queue timeout"
	return rec, ""
}

// followSSE reads a Server-Sent Events stream until an `admitted` event and returns its
// admission token, or until a final `error` event and returns it as a *streamError. Lines are
// bounded to 64 KiB.
func followSSE(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	var event string
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				var qs queueStatus
				if json.Unmarshal([]byte(data.String()), &qs) == nil && (event == "admitted" || qs.Admitted) && qs.AdmissionToken != "" {
					return qs.AdmissionToken, nil
				}
				if event == "error" {
					var e errorBody
					if json.Unmarshal([]byte(data.String()), &e) == nil && e.Error.Code != "" {
						return "", &streamError{code: e.Error.Code, msg: e.Error.Message}
					}
				}
			}
			event = ""
			data.Reset()
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(line[len("data:"):], " "))
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read queue stream: %w", err)
	}
	return "", errNotAdmitted
}

// adminHeaders carry the admin token of an /admin request; nil without one.
func adminHeaders(token string) map[string]string {
	if token == "" {
		return nil
	}
	return map[string]string{admintoken.Header: admintoken.Value(token)}
}

// createEvent sends POST /admin/events; 200 and 201 are both fine.
func (c *client) createEvent(ctx context.Context, spec EventSpec, token string) error {
	body, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", spec.ID, err)
	}
	a := c.do(ctx, nil, http.MethodPost, "/admin/events", adminHeaders(token), body)
	if a.err != nil {
		return fmt.Errorf("create event %s: %w", spec.ID, a.err)
	}
	if a.status != http.StatusOK && a.status != http.StatusCreated {
		return fmt.Errorf("create event %s: status %d %s %s", spec.ID, a.status, a.code, a.msg)
	}
	return nil
}

// codeNotAdmitted is the contract's error code for a buyer the waiting room has not let in: a
// hold without a valid token, or a join that timed out in the queue.
const codeNotAdmitted = "not_admitted"
