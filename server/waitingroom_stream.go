package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
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
// seq - head + 1, see waitingroom.go); only when subscribers were admitted does it read their
// admission times, in one HMGET for all of them. Each stream costs its HTTP connection, a
// goroutine blocked on a one-slot channel and a small subscriber record.

// streamMsg is one SSE event for a subscriber.
type streamMsg struct {
	event string
	data  []byte
	// final ends the stream after this message.
	final bool
}

// streamSub is one open stream. The fields after ch are owned by the broadcaster goroutine once
// the subscriber is registered.
type streamSub struct {
	ticket string
	t      queueTicket
	seq    int64
	// ch holds at most the latest message; the broadcaster replaces an unread one.
	ch chan streamMsg

	lastPos, lastLen int64
	lastSent         time.Time
	done             bool
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

// subscribe registers sub with its event's broadcaster, starting one if needed.
func (q *queueState) subscribe(sub *streamSub) {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.rooms[sub.t.Event]
	if b == nil {
		b = &broadcaster{event: sub.t.Event, subs: map[*streamSub]struct{}{}}
		q.rooms[sub.t.Event] = b
		go q.broadcast(b)
	}
	b.subs[sub] = struct{}{}
}

// unsubscribe removes sub; a broadcaster without subscribers ends at its next tick.
func (q *queueState) unsubscribe(sub *streamSub) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if b := q.rooms[sub.t.Event]; b != nil {
		delete(b.subs, sub)
	}
}

// broadcast is a broadcaster's loop: it ends when it has no subscribers left or the server
// stops.
func (q *queueState) broadcast(b *broadcaster) {
	t := time.NewTicker(q.streamTick)
	defer t.Stop()
	var subs []*streamSub
	for {
		select {
		case <-t.C:
		case <-q.stopping:
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

// broadcastTick reads the queue's head once and updates every subscriber.
func (q *queueState) broadcastTick(event string, subs []*streamSub) error {
	ctx, cancel := context.WithTimeout(context.Background(), max(4*q.streamTick, 2*time.Second))
	defer cancel()
	h, err := q.head(ctx, event)
	if err != nil {
		return err
	}
	now := time.Now()
	var out []*streamSub
	for _, s := range subs {
		if s.done {
			continue
		}
		if s.t.Run != h.Run {
			q.metrics.staleTickets.Inc()
			s.done = true
			s.offer(errorMsg(errQueueReset))
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
			s.offer(jsonMsg("position", st, false))
		}
	}
	if len(out) == 0 {
		return nil
	}
	sessions := make([]string, len(out))
	for i, s := range out {
		sessions[i] = s.t.Session
	}
	at, err := q.admittedAt(ctx, event, sessions)
	if err != nil {
		return err
	}
	for i, s := range out {
		s.done = true
		if at[i].IsZero() {
			s.offer(errorMsg(fmt.Errorf("%w: the session is no longer in the queue of event %s", errTicketNotFound, event)))
			continue
		}
		st := q.statusOf(s.ticket, s.t, queuePlace{Run: h.Run, Length: h.Length, Rate: h.Rate, Admitted: at[i]})
		s.offer(jsonMsg("admitted", st, true))
	}
	return nil
}

func jsonMsg(event string, v any, final bool) streamMsg {
	b, err := json.Marshal(v)
	if err != nil {
		return errorMsg(err)
	}
	return streamMsg{event: event, data: b, final: final}
}

// errorMsg is the final `error` event for err, with the api.yaml Error body.
func errorMsg(err error) streamMsg {
	ae, _ := toAPIError(err)
	b, _ := json.Marshal(errorBody{Error: ae})
	return streamMsg{event: "error", data: b, final: true}
}

// streamWriteTimeout bounds one write to a stream client: a client that stops reading is dropped
// instead of holding its goroutine forever.
const streamWriteTimeout = 10 * time.Second

// handleQueueStream is GET /queue/{ticket}/stream. Errors found before the stream starts (bad
// session, unknown ticket, Redis down) are ordinary JSON error responses.
func (s *Server) handleQueueStream(w http.ResponseWriter, r *http.Request) {
	q := s.queue
	tk, t, err := q.ticketFrom(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := q.lookup(r, t)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	// A stream outlives any read or write timeout the http.Server has; each write gets its own.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	q.metrics.streams.Inc()
	defer q.metrics.streams.Dec()

	write := func(m streamMsg) error {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.event, m.data); err != nil {
			return err
		}
		return rc.Flush()
	}
	st := q.statusOf(tk, t, p)
	if st.Admitted {
		_ = write(jsonMsg("admitted", st, true))
		return
	}
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	if err := write(jsonMsg("position", st, false)); err != nil {
		return
	}
	sub := &streamSub{ticket: tk, t: t, seq: p.Seq, ch: make(chan streamMsg, 1),
		lastPos: p.Position, lastLen: p.Length, lastSent: time.Now()}
	q.subscribe(sub)
	defer q.unsubscribe(sub)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-q.stopping:
			return
		case m := <-sub.ch:
			if err := write(m); err != nil || m.final {
				return
			}
		}
	}
}
