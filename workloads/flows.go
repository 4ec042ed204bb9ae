package workloads

import (
	"context"
	"strconv"
	"time"

	"stampede/history"
)

// user is one virtual user at run time: its plan, its session and the driver's shared parts.
// A user lives in one goroutine and holds only its plan and the answer it is working on.
type user struct {
	d       *Driver
	p       UserPlan
	session string
	// next is when the user's next request is due, on the run's clock: the arrival for the
	// first request, then the end of each planned pause.
	next int64
}

// sleep pauses for d and moves the next request's due time by d from now. It returns false
// when ctx ends first.
func (u *user) sleep(ctx context.Context, d time.Duration) bool {
	u.next = u.d.clock.Now() + int64(d)
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (u *user) record(rec *history.Record) {
	u.d.rec.record(rec, u.next)
	// Until the next pause, a follow-up request is due as soon as this one returned.
	u.next = rec.Ret
}

// run plays the user's flow to its end or until ctx ends.
func (u *user) run(ctx context.Context) {
	switch u.p.Flow {
	case FlowBrowse:
		u.browse(ctx)
	case FlowBuy:
		u.buy(ctx)
	case FlowBot:
		u.bot(ctx)
	}
}

func (u *user) browse(ctx context.Context) {
	for _, pg := range u.p.Pages {
		if !u.sleep(ctx, pg.Think) {
			return
		}
		rec := u.d.client.page(ctx, u.p.Index, u.session, u.p.Event, pg)
		u.record(&rec)
	}
}

func (u *user) buy(ctx context.Context) {
	c := u.d.client
	token := ""
	if u.p.Queue {
		rec, t := c.join(ctx, u.p.Index, u.session, u.p.Event, u.d.sc.WaitingRoom.Timeout)
		u.record(&rec)
		if rec.Type != history.Ok {
			return
		}
		token = t
	}
	if !u.sleep(ctx, u.p.Think) {
		return
	}
	flow := &u.d.sc.Users[u.p.FlowIndex]
	var held holdAnswer
	var holdIn history.Input
	tries := len(u.p.Picks)
	if u.p.BestAvailable || u.p.Tier != "" {
		tries = flow.HoldTries
	}
	for try := 0; try < tries && ctx.Err() == nil; try++ {
		in := history.Input{Event: u.p.Event, Session: u.session, Token: token}
		switch {
		case u.p.Tier != "":
			in.Tier, in.Quantity = u.p.Tier, u.p.Count
		case u.p.BestAvailable:
			seats, ok := u.bestAvailable(ctx)
			if !ok {
				return
			}
			in.Seats = seats
		default:
			in.Seats = u.p.Picks[try]
		}
		rec, h := c.hold(ctx, u.p.Index, u.session, in)
		u.record(&rec)
		if rec.Type == history.Ok {
			held, holdIn = h, in
			break
		}
		if rec.Type == history.Info || rec.Out.Code != "seat_unavailable" {
			// Unknown outcome, or a refusal that another pick will not change (sold out, not
			// admitted, bad request): the user gives up.
			return
		}
	}
	if held.HoldID == "" {
		return
	}
	if u.p.Abandon {
		if !u.p.Release {
			return // walks away: the hold expires
		}
		if !u.sleep(ctx, u.p.PayAfter) {
			return
		}
		rec := c.release(ctx, u.p.Index, u.session, history.Input{Event: u.p.Event, Session: u.session, HoldID: held.HoldID, Seats: held.Seats})
		u.record(&rec)
		return
	}
	if !u.sleep(ctx, u.p.PayAfter) {
		return
	}
	method := "card_ok"
	if u.p.Decline {
		method = "card_declined"
	}
	in := history.Input{
		Event: u.p.Event, Session: u.session, HoldID: held.HoldID, Seats: held.Seats,
		Tier: holdIn.Tier, Quantity: holdIn.Quantity,
		Key: u.session + "-checkout-" + held.HoldID,
	}
	if len(in.Key) > 128 {
		in.Key = in.Key[:128]
	}
	for attempt := 0; attempt <= flow.Retry; attempt++ {
		if attempt > 0 && !u.sleep(ctx, flow.RetryBackoff) {
			return
		}
		rec := c.checkout(ctx, u.p.Index, u.session, method, in)
		u.record(&rec)
		if rec.Type != history.Info {
			return
		}
	}
}

// maxReadSeats bounds the seats a read record lists besides the chosen block.
const maxReadSeats = 16

// bestAvailable reads the seat map and returns the best block of Count adjacent available
// seats. It records the read, restricted to the seats the user looked at. ok is false when the
// read failed or nothing fits.
func (u *user) bestAvailable(ctx context.Context) (seats []string, ok bool) {
	rec, status := u.d.client.seats(ctx, u.p.Index, u.session, u.p.Event)
	if status == nil {
		u.record(&rec)
		return nil, false
	}
	l := u.d.plan.layout
	var looked []string
	note := func(id string) {
		if len(looked) >= maxReadSeats {
			return
		}
		switch status[id] {
		case "held":
			rec.Out.Held = append(rec.Out.Held, id)
		case "sold":
			rec.Out.Sold = append(rec.Out.Sold, id)
		default:
			return
		}
		looked = append(looked, id)
	}
	for rank, n := 0, l.size(); rank < n && seats == nil; rank++ {
		sec, row, num := l.seat(rank)
		if status[SeatID(sec, row, num)] != "available" {
			note(SeatID(sec, row, num))
			continue
		}
		b := l.block(rank, u.p.Count)
		fits := len(b) == u.p.Count
		for _, id := range b {
			if status[id] != "available" {
				fits = false
				break
			}
		}
		if fits {
			seats = b
		}
	}
	rec.Out.Available = seats
	rec.In.Seats = append(append([]string(nil), seats...), looked...)
	u.record(&rec)
	return seats, seats != nil
}

func (u *user) bot(ctx context.Context) {
	flow := &u.d.sc.Users[u.p.FlowIndex]
	attempts := len(u.p.Picks)
	if u.p.Tier != "" {
		attempts = flow.Attempts
	}
	if !u.sleep(ctx, u.p.Think) {
		return
	}
	for k := 0; k < attempts; k++ {
		if k > 0 && !u.sleep(ctx, flow.Interval) {
			return
		}
		in := history.Input{Event: u.p.Event, Session: u.session}
		if u.p.Tier != "" {
			in.Tier, in.Quantity = u.p.Tier, u.p.Count
		} else {
			in.Seats = u.p.Picks[k]
		}
		rec, _ := u.d.client.hold(ctx, u.p.Index, u.session, in)
		u.record(&rec)
	}
}

// sessionID is the X-Session-Id of user i in run runID.
func sessionID(runID string, i int) string {
	return runID + "-u" + strconv.Itoa(i)
}
