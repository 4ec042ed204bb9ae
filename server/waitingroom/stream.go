package waitingroom

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"stampede/server/api"
)

// Queue streams. GET /queue/{ticket}/stream holds a Server-Sent Events response open and sends
// `position` events (QueueStatus JSON) when the session's place changes and as a heartbeat,
// then one `admitted` event carrying the admission token, and ends. A stream whose ticket stops
// being valid (the queue was reset by a Redis restart) gets one `error` event with the api.yaml
// Error body and ends.
//
// Cost. Streams do not read Redis. Each event with open streams in a process has one
// broadcaster goroutine that reads the queue's head, length and rate once per streamTick (one
// script call) and derives every subscriber's position from its join number (position =
// seq - head + 1, see queue.go); only when subscribers were admitted does it read their
// admission times, in one HMGET for all of them.
//
// Memory. An HTTP/1.1 stream is taken over from net/http (Hijack) once its first event is
// written: its handler returns, so the stream keeps neither a goroutine nor net/http's
// per-connection buffers, only the socket and a small subscriber record; the broadcaster writes
// its events straight to the socket, through a few writer goroutines, each write bounded by
// streamWriteTimeout (a client that stops reading is dropped). The response is then delimited
// by closing the connection (Connection: close), which every SSE client accepts. A client that
// goes away is noticed at the next write to it, at the latest after two heartbeats. Where the
// connection cannot be taken over (HTTP/2, or a wrapper without Hijack) the handler stays and
// streams through its ResponseWriter, fed through a one-slot channel.

// streamMsg is one SSE event for a subscriber: its JSON is data, or, for a position event,
// status, encoded when the event is written.
type streamMsg struct {
	event  string
	data   []byte
	status *queueStatus
	// final ends the stream after this message.
	final bool
}

// appendFrame appends the event as SSE to dst.
func (m streamMsg) appendFrame(dst []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, m.event...)
	dst = append(dst, "\ndata: "...)
	if m.status != nil {
		dst = appendStatusJSON(dst, m.status)
	} else {
		dst = append(dst, m.data...)
	}
	return append(dst, "\n\n"...)
}

func (m streamMsg) frame() []byte { return m.appendFrame(nil) }

// positionMsg is a position event for st.
func positionMsg(st queueStatus) streamMsg { return streamMsg{event: "position", status: &st} }

// appendStatusJSON appends st as JSON, the same bytes encoding/json writes. Position events are
// most of what the streams carry (thousands a second), so they are encoded by hand, without
// reflection or allocations; anything unusual goes through encoding/json.
func appendStatusJSON(dst []byte, st *queueStatus) []byte {
	if st.Admitted || st.AdmissionToken != "" || st.AdmissionExpiresAt != nil || !jsonPlain(st.Ticket) || !jsonPlain(st.EventID) {
		b, err := json.Marshal(st)
		if err != nil {
			return append(dst, "{}"...)
		}
		return append(dst, b...)
	}
	dst = append(dst, `{"ticket":"`...)
	dst = append(dst, st.Ticket...)
	dst = append(dst, `","event_id":"`...)
	dst = append(dst, st.EventID...)
	dst = append(dst, `","position":`...)
	dst = strconv.AppendInt(dst, st.Position, 10)
	dst = append(dst, `,"length":`...)
	dst = strconv.AppendInt(dst, st.Length, 10)
	if st.ETASeconds != nil {
		dst = append(dst, `,"eta_seconds":`...)
		dst = appendJSONFloat(dst, *st.ETASeconds)
	}
	dst = append(dst, `,"admitted":false,"admit_per_second":`...)
	dst = appendJSONFloat(dst, st.AdmitPerSecond)
	return append(dst, '}')
}

// jsonPlain reports whether s needs no escaping in a JSON string (tickets and event ids are
// base64url, dots, dashes and underscores).
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendJSONFloat formats f as encoding/json does.
func appendJSONFloat(dst []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// streamSub is one open stream: conn is set for a taken-over connection, ch otherwise. The
// fields after ch are owned by the broadcaster goroutine once the subscriber is registered.
type streamSub struct {
	ticket string
	t      queueTicket
	seq    int64
	conn   net.Conn
	// ch holds at most the latest message; the broadcaster replaces an unread one.
	ch chan streamMsg

	lastPos, lastLen int64
	lastSent         time.Time
	done             bool
	// subscribed is set by subscribe, in the handler's goroutine, once the broadcaster has the
	// stream: from then on its reserved place (reserveStream) is released when it is removed.
	subscribed bool
}

// offer puts m in the subscriber's slot, replacing a message the stream has not written yet
// (a newer position supersedes an older one). Only the broadcaster calls it.
func (s *streamSub) offer(m streamMsg) {
	select {
	case <-s.ch:
	default:
	}
	s.ch <- m
}

// broadcaster fans one event's queue out to its subscribers.
type broadcaster struct {
	event string
	subs  map[*streamSub]struct{}
}

// reserveStream counts one more open stream of session, or returns ErrTooManyStreams when the
// session already has q.maxStreams open. A reserved place is released once: by the handler
// when the stream ends before subscribe, and when its subscriber is removed after.
func (q *Room) reserveStream(session string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.streamsOf[session]
	if q.maxStreams > 0 && n >= q.maxStreams {
		return fmt.Errorf("%w: this session has %d queue streams open, the most one session may (--max-streams-per-session %d); close one first",
			ErrTooManyStreams, n, q.maxStreams)
	}
	q.streamsOf[session] = n + 1
	return nil
}

// releaseStreamLocked gives back a place reserveStream counted; q.mu is held.
func (q *Room) releaseStreamLocked(session string) {
	if n := q.streamsOf[session]; n > 1 {
		q.streamsOf[session] = n - 1
	} else {
		delete(q.streamsOf, session)
	}
}

// subscribe registers sub with its event's broadcaster, starting one if needed. It returns
// false once the server is stopping.
func (q *Room) subscribe(sub *streamSub) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-q.stopping:
		return false
	default:
	}
	sub.subscribed = true
	b := q.rooms[sub.t.Event]
	if b == nil {
		b = &broadcaster{event: sub.t.Event, subs: map[*streamSub]struct{}{}}
		q.rooms[sub.t.Event] = b
		go q.broadcast(b)
	}
	b.subs[sub] = struct{}{}
	q.metrics.streams.Inc()
	return true
}

// unsubscribe removes subs of event; a broadcaster without subscribers ends at its next tick.
func (q *Room) unsubscribe(event string, subs ...*streamSub) {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.rooms[event]
	if b == nil {
		return
	}
	for _, s := range subs {
		if _, ok := b.subs[s]; ok {
			delete(b.subs, s)
			q.releaseStreamLocked(s.t.Session)
			q.metrics.streams.Dec()
		}
	}
}

// broadcast is a broadcaster's loop: it ends when it has no subscribers left or the server
// stops, closing the connections it owns.
func (q *Room) broadcast(b *broadcaster) {
	t := time.NewTicker(q.streamTick)
	defer t.Stop()
	var subs []*streamSub
	for {
		select {
		case <-t.C:
		case <-q.stopping:
			q.mu.Lock()
			var conns []net.Conn
			for s := range b.subs {
				if s.conn != nil {
					conns = append(conns, s.conn)
				}
				q.releaseStreamLocked(s.t.Session)
				q.metrics.streams.Dec()
			}
			b.subs = map[*streamSub]struct{}{}
			delete(q.rooms, b.event)
			q.mu.Unlock()
			// Each stream's final event, written outside the lock; a client that does not
			// read it within a second is cut anyway.
			bye := q.shutdownMsg().frame()
			for _, c := range conns {
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = c.Write(bye)
				_ = c.Close()
			}
			return
		}
		q.mu.Lock()
		if len(b.subs) == 0 {
			delete(q.rooms, b.event)
			q.mu.Unlock()
			return
		}
		subs = subs[:0]
		for s := range b.subs {
			subs = append(subs, s)
		}
		q.mu.Unlock()
		if err := q.broadcastTick(b.event, subs); err != nil {
			q.logError("waiting-room stream update", err)
		}
	}
}

// frameJob is one event to write to a taken-over connection.
type frameJob struct {
	sub *streamSub
	msg streamMsg
}

// broadcastTick reads the queue's head once and updates every subscriber.
func (q *Room) broadcastTick(event string, subs []*streamSub) error {
	ctx, cancel := context.WithTimeout(context.Background(), max(4*q.streamTick, 2*time.Second))
	defer cancel()
	h, err := q.head(ctx, event)
	if err != nil {
		return err
	}
	var jobs []frameJob
	deliver := func(s *streamSub, m streamMsg) {
		if m.final {
			s.done = true
		}
		if s.conn != nil {
			jobs = append(jobs, frameJob{s, m})
			return
		}
		s.offer(m)
	}
	now := time.Now()
	var out []*streamSub
	for _, s := range subs {
		if s.done {
			continue
		}
		if s.t.Run != h.Run {
			q.metrics.staleTickets.Inc()
			deliver(s, q.errorMsg(errQueueReset))
			continue
		}
		if h.Length == 0 || s.seq < h.Seq {
			out = append(out, s)
			continue
		}
		pos := s.seq - h.Seq + 1
		changed := pos != s.lastPos || h.Length != s.lastLen
		since := now.Sub(s.lastSent)
		if (changed && since >= q.streamMinInterval) || since >= q.heartbeat {
			st := q.statusOf(s.ticket, s.t, queuePlace{Run: h.Run, Seq: s.seq, Position: pos, Length: h.Length, Rate: h.Rate})
			s.lastPos, s.lastLen, s.lastSent = pos, h.Length, now
			deliver(s, positionMsg(st))
		}
	}
	if len(out) > 0 {
		sessions := make([]string, len(out))
		for i, s := range out {
			sessions[i] = s.t.Session
		}
		at, err := q.admittedAt(ctx, event, sessions)
		if err != nil {
			q.writeFrames(event, jobs)
			return err
		}
		for i, s := range out {
			if at[i].IsZero() {
				deliver(s, q.errorMsg(fmt.Errorf("%w: the session is no longer in the queue of event %s", ErrTicketNotFound, event)))
				continue
			}
			st := q.statusOf(s.ticket, s.t, queuePlace{Run: h.Run, Length: h.Length, Rate: h.Rate, Admitted: at[i]})
			deliver(s, q.jsonMsg("admitted", st, true))
		}
	}
	q.writeFrames(event, jobs)
	return nil
}

// streamWriters is how many goroutines write one tick's events to taken-over connections, so a
// slow client does not hold up the others. More would only compete with request handling for
// the CPU: a write to a healthy client does not block.
const streamWriters = 4

// writeFrames writes jobs to their connections and drops the streams that ended or failed.
func (q *Room) writeFrames(event string, jobs []frameJob) {
	if len(jobs) == 0 {
		return
	}
	var (
		next   atomic.Int64
		mu     sync.Mutex
		closed []*streamSub
		wg     sync.WaitGroup
	)
	for range min(streamWriters, (len(jobs)+63)/64) {
		wg.Go(func() {
			buf := make([]byte, 0, 512)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				buf = j.msg.appendFrame(buf[:0])
				_ = j.sub.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
				if _, err := j.sub.conn.Write(buf); err != nil || j.msg.final {
					_ = j.sub.conn.Close()
					j.sub.done = true
					mu.Lock()
					closed = append(closed, j.sub)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	q.unsubscribe(event, closed...)
}

func (q *Room) jsonMsg(event string, v any, final bool) streamMsg {
	b, err := json.Marshal(v)
	if err != nil {
		return q.errorMsg(err)
	}
	return streamMsg{event: event, data: b, final: final}
}

// errorMsg is the final `error` event for err, with the api.yaml Error body.
func (q *Room) errorMsg(err error) streamMsg {
	b, _ := json.Marshal(api.ErrorBody{Error: q.table.Answer(err)})
	return streamMsg{event: "error", data: b, final: true}
}

// errShuttingDown is what the final event of a stream cut by a shutdown says.
var errShuttingDown = fmt.Errorf("the server is shutting down; the ticket stays valid: open the stream again: %w", api.ErrUnavailable)

// shutdownMsg is the final `shutdown` event of every open stream when the server shuts down:
// an Error with code unavailable.
func (q *Room) shutdownMsg() streamMsg {
	m := q.errorMsg(errShuttingDown)
	m.event = "shutdown"
	return m
}

// streamWriteTimeout bounds one write to a stream client: a client that stops reading is dropped
// instead of holding a writer.
const streamWriteTimeout = 5 * time.Second

// streamHeader is the response head of a taken-over stream.
const streamHeader = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
	"X-Accel-Buffering: no\r\nConnection: close\r\n\r\nretry: 2000\n\n"

// HandleStream is GET /queue/{ticket}/stream. Errors found before the stream starts (bad
// session, unknown ticket, Redis down, 429 too_many_streams when the session has
// Config.MaxStreamsPerSession streams open) are ordinary JSON error responses.
func (q *Room) HandleStream(w http.ResponseWriter, r *http.Request) {
	tk, t, err := q.ticketFrom(r)
	if err != nil {
		q.table.Write(w, r, err)
		return
	}
	p, err := q.lookup(r, t)
	if err != nil {
		q.table.Write(w, r, err)
		return
	}
	if err := q.reserveStream(t.Session); err != nil {
		q.table.Write(w, r, err)
		return
	}
	st := q.statusOf(tk, t, p)
	first := positionMsg(st)
	if st.Admitted {
		first = q.jsonMsg("admitted", st, true)
	}
	sub := &streamSub{ticket: tk, t: t, seq: p.Seq, lastPos: p.Position, lastLen: p.Length, lastSent: time.Now()}
	defer func() {
		if !sub.subscribed {
			q.mu.Lock()
			q.releaseStreamLocked(t.Session)
			q.mu.Unlock()
		}
	}()

	rc := http.NewResponseController(w)
	if r.ProtoMajor == 1 {
		if conn, _, err := rc.Hijack(); err == nil {
			_ = conn.SetDeadline(time.Now().Add(streamWriteTimeout))
			_, err := conn.Write(append([]byte(streamHeader), first.frame()...))
			_ = conn.SetDeadline(time.Time{})
			if err != nil || first.final {
				_ = conn.Close()
				return
			}
			sub.conn = conn
			if !q.subscribe(sub) {
				_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = conn.Write(q.shutdownMsg().frame())
				_ = conn.Close()
			}
			return
		}
	}
	q.streamHere(w, r, rc, sub, first)
}

// streamHere streams through the ResponseWriter, for connections that cannot be taken over.
func (q *Room) streamHere(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, sub *streamSub, first streamMsg) {
	// A stream outlives any read or write timeout the http.Server has; each write gets its own.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(m streamMsg) error {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(m.frame()); err != nil {
			return err
		}
		return rc.Flush()
	}
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	if err := write(first); err != nil || first.final {
		return
	}
	sub.ch = make(chan streamMsg, 1)
	if !q.subscribe(sub) {
		_ = write(q.shutdownMsg())
		return
	}
	defer q.unsubscribe(sub.t.Event, sub)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-q.stopping:
			_ = write(q.shutdownMsg())
			return
		case m := <-sub.ch:
			if err := write(m); err != nil || m.final {
				return
			}
		}
	}
}
