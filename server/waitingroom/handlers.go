package waitingroom

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"stampede/server/api"
	"stampede/strategies"
)

// queueStatus is api.yaml's QueueStatus.
type queueStatus struct {
	Ticket   string `json:"ticket"`
	EventID  string `json:"event_id"`
	Position int64  `json:"position"`
	Length   int64  `json:"length"`
	// ETASeconds is absent while admission is paused (rate 0).
	ETASeconds *float64 `json:"eta_seconds,omitempty"`
	Admitted   bool     `json:"admitted"`
	// AdmissionToken and AdmissionExpiresAt are present once admitted.
	AdmissionToken     string     `json:"admission_token,omitempty"`
	AdmissionExpiresAt *time.Time `json:"admission_expires_at,omitempty"`
	// AdmitPerSecond is the queue's current admission rate.
	AdmitPerSecond float64 `json:"admit_per_second"`
}

// statusOf builds the QueueStatus of ticket t at standing p.
func (q *Room) statusOf(tk string, t queueTicket, p queuePlace) queueStatus {
	st := queueStatus{Ticket: tk, EventID: t.Event, Position: p.Position, Length: p.Length, AdmitPerSecond: p.Rate}
	if !p.Admitted.IsZero() {
		st.Admitted = true
		st.Position = 0
		st.AdmissionToken = q.sign.admissionToken(t.Event, t.Session, p.Admitted, q.tokenTTL)
		exp := p.Admitted.Add(q.tokenTTL).UTC()
		st.AdmissionExpiresAt = &exp
		zero := 0.0
		st.ETASeconds = &zero
		return st
	}
	if p.Rate > 0 {
		eta := math.Ceil(float64(p.Position)/p.Rate*10) / 10
		st.ETASeconds = &eta
	}
	return st
}

// unavailable logs a Redis failure and returns what the client is told: 503 unavailable, since
// the operation may or may not have reached Redis.
func (q *Room) unavailable(r *http.Request, err error) error {
	if errors.Is(err, errNoRedis) {
		return fmt.Errorf("%w: %w", api.ErrUnavailable, errNoRedis)
	}
	q.log.Warn("waiting room", "method", r.Method, "path", r.URL.Path, "err", err)
	return fmt.Errorf("waiting room unreachable: %w", api.ErrUnavailable)
}

// HandleJoin is POST /events/{event_id}/queue: 201 with a new ticket, 200 with the same
// ticket for a session already waiting or admitted, 409 waiting_room_off, 503 queue_full with
// Retry-After when the queue has Config.MaxQueueLength sessions waiting.
func (q *Room) HandleJoin(w http.ResponseWriter, r *http.Request) {
	session, err := api.Session(r)
	if err != nil {
		q.table.Write(w, r, err)
		return
	}
	id, err := api.EventID(r)
	if err != nil {
		q.table.Write(w, r, err)
		return
	}
	ev, err := q.event(r.Context(), id)
	if err != nil {
		q.table.Write(w, r, err)
		return
	}
	if ev.WaitingRoom == nil || !ev.WaitingRoom.Enabled {
		q.table.Write(w, r, fmt.Errorf("event %s: %w", id, ErrWaitingRoomOff))
		return
	}
	p, state, err := q.join(r.Context(), id, session, ev.WaitingRoom.AdmitPerSecond)
	if err != nil {
		q.table.Write(w, r, q.unavailable(r, err))
		return
	}
	q.metrics.joined(id, state)
	if state == joinFull {
		wait := queueFullRetryAfter(p.Rate)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		q.table.Write(w, r, fmt.Errorf("%w: event %s has %d sessions waiting, the most this server lets wait (--max-queue-length %d); retry after %s",
			ErrQueueFull, id, p.Length, q.maxQueue, wait))
		return
	}
	t := queueTicket{Event: id, Session: session, Run: p.Run}
	status := http.StatusOK
	if state == joinNew {
		status = http.StatusCreated
	}
	api.WriteJSON(w, status, q.statusOf(q.sign.ticket(t), t, p))
}

// queueFullRetryAfter is the Retry-After of a queue_full refusal at admission rate rate: the
// time the queue takes to admit one session (a place frees up), at least a second and at most
// a minute (also when admission is paused).
func queueFullRetryAfter(rate float64) time.Duration {
	const most = time.Minute
	if rate <= 0 || 1/rate >= most.Seconds() {
		return most
	}
	return max(time.Second, time.Duration(math.Ceil(1/rate))*time.Second)
}

// ticketFrom reads and checks the {ticket} path value against the request's session. Another
// session's ticket is answered like an unknown one (404), so tickets cannot be probed.
func (q *Room) ticketFrom(r *http.Request) (string, queueTicket, error) {
	session, err := api.Session(r)
	if err != nil {
		return "", queueTicket{}, err
	}
	tk := r.PathValue("ticket")
	t, err := q.sign.parseTicket(tk)
	if err != nil {
		return "", queueTicket{}, err
	}
	if t.Session != session {
		return "", queueTicket{}, fmt.Errorf("%w: the ticket belongs to another session", ErrTicketNotFound)
	}
	return tk, t, nil
}

// lookup reads a ticket's standing, counting answers about reset queues.
func (q *Room) lookup(r *http.Request, t queueTicket) (queuePlace, error) {
	p, err := q.status(r.Context(), t)
	switch {
	case errors.Is(err, errQueueReset):
		q.metrics.staleTickets.Inc()
		return p, err
	case errors.Is(err, ErrTicketNotFound):
		return p, err
	case err != nil:
		return p, q.unavailable(r, err)
	}
	return p, nil
}

// HandleStatus is GET /queue/{ticket}.
func (q *Room) HandleStatus(w http.ResponseWriter, r *http.Request) {
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
	api.WriteJSON(w, http.StatusOK, q.statusOf(tk, t, p))
}

// waitingRoomUpdate is the body of PUT /admin/events/{event_id}/waiting-room.
type waitingRoomUpdate struct {
	AdmitPerSecond *float64 `json:"admit_per_second"`
}

// maxAdmitPerSecond bounds the admission rate an admin can set.
const maxAdmitPerSecond = 1e6

// HandleSetRate is PUT /admin/events/{event_id}/waiting-room: it changes the event's
// admission rate for every server process sharing the Redis, from the admitters' next tick.
func (q *Room) HandleSetRate(w http.ResponseWriter, r *http.Request) {
	id, err := api.EventID(r)
	if err != nil {
		q.table.Write(w, r, err)
		return
	}
	var body waitingRoomUpdate
	if err := api.DecodeJSON(r, &body); err != nil {
		q.table.Write(w, r, err)
		return
	}
	if body.AdmitPerSecond == nil {
		q.table.Write(w, r, api.Invalid("admit_per_second", "admit_per_second: required"))
		return
	}
	rate := *body.AdmitPerSecond
	if math.IsNaN(rate) || rate < 0 || rate > maxAdmitPerSecond {
		q.table.Write(w, r, api.Invalid("admit_per_second", "admit_per_second: must be 0..%g, got %g", float64(maxAdmitPerSecond), rate))
		return
	}
	ev, err := q.event(r.Context(), id)
	if err != nil {
		q.table.Write(w, r, err)
		return
	}
	if ev.WaitingRoom == nil || !ev.WaitingRoom.Enabled {
		q.table.Write(w, r, fmt.Errorf("event %s: %w", id, ErrWaitingRoomOff))
		return
	}
	if err := q.setRate(r.Context(), id, rate); err != nil {
		q.table.Write(w, r, q.unavailable(r, err))
		return
	}
	api.WriteJSON(w, http.StatusOK, strategies.WaitingRoom{Enabled: true, AdmitPerSecond: rate})
}
