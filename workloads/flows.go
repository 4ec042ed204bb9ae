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
	caller
	d *Driver
	p UserPlan
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

// record writes the record of the user's last request, with what the client measured of it.
func (u *user) record(rec *history.Record) {
	u.d.rec.record(rec, u.next, u.last)
	u.last = exchange{}
	// Until the next pause, a follow-up request is due as soon as this one returned.
	u.next = rec.Ret
}

// patiently sends a request with send and records its answer. While the target sheds it (503
// overloaded), the user waits the delay the answer advised (Retry-After) and sends it again,
// as long as that wait ends within the flow's patience, counted from the first shed answer.
// It returns the last record (recorded).
func (u *user) patiently(ctx context.Context, send func() history.Record) history.Record {
	patience := u.d.sc.Users[u.p.FlowIndex].Patience
	var first int64
	for {
		rec := send()
		wait := u.last.retryAfter
		u.record(&rec)
		if rec.Type != history.Shed {
			return rec
		}
		if first == 0 {
			first = rec.Ret
		}
		if time.Duration(u.d.clock.Now()-first)+wait > patience || !u.sleep(ctx, wait) {
			return rec
		}
	}
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
	case FlowScan:
		u.scan(ctx)
	}
}

func (u *user) browse(ctx context.Context) {
	for _, pg := range u.p.Pages {
		if !u.sleep(ctx, pg.Think) {
			return
		}
		u.patiently(ctx, func() history.Record { return u.d.client.page(ctx, &u.caller, u.p.Event, pg) })
	}
}

// buy plays a buyer; it returns the tickets of the booking it made, and its id (none when it
// made none).
func (u *user) buy(ctx context.Context) (tickets []issuedTicket, bookingID string) {
	c := u.d.client
	token := ""
	if u.p.Queue {
		var t string
		rec := u.patiently(ctx, func() history.Record {
			var rec history.Record
			rec, t = c.join(ctx, &u.caller, u.p.Event, u.d.sc.WaitingRoom.Timeout)
			return rec
		})
		if rec.Type != history.Ok {
			return nil, ""
		}
		token = t
	}
	if !u.sleep(ctx, u.p.Think) {
		return nil, ""
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
			seats, read := u.bestAvailable(ctx, (u.p.Section+try)%max(u.d.plan.layout.sections, 1))
			if !read {
				return nil, ""
			}
			if seats == nil {
				continue // nothing fits in this section: the next try looks at the next one
			}
			in.Seats = seats
		case u.p.LookFirst:
			free, read := u.lookAt(ctx, u.p.Picks[try])
			if !read {
				return nil, ""
			}
			if !free {
				continue // the map shows the pick taken: the next pick
			}
			in.Seats = u.p.Picks[try]
		default:
			in.Seats = u.p.Picks[try]
		}
		var h holdAnswer
		rec := u.patiently(ctx, func() history.Record {
			var rec history.Record
			rec, h = c.hold(ctx, &u.caller, in)
			return rec
		})
		if rec.Type == history.Ok {
			held, holdIn = h, in
			break
		}
		if rec.Type == history.Info || rec.Out.Code != "seat_unavailable" {
			// Unknown outcome, or a refusal that another pick will not change (sold out, not
			// admitted, bad request, shed beyond the user's patience): the user gives up.
			return nil, ""
		}
	}
	if held.HoldID == "" {
		return nil, ""
	}
	if u.p.Abandon {
		if !u.p.Release {
			return nil, "" // walks away: the hold expires
		}
		if !u.sleep(ctx, u.p.PayAfter) {
			return nil, ""
		}
		u.patiently(ctx, func() history.Record {
			return c.release(ctx, &u.caller, history.Input{Event: u.p.Event, Session: u.session, HoldID: held.HoldID, Seats: held.Seats})
		})
		return nil, ""
	}
	if !u.sleep(ctx, u.p.PayAfter) {
		return nil, ""
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
			return nil, ""
		}
		var booked []issuedTicket
		rec := u.patiently(ctx, func() history.Record {
			var rec history.Record
			rec, booked = c.checkout(ctx, &u.caller, method, in)
			return rec
		})
		if rec.Type != history.Info {
			return booked, rec.Out.BookingID
		}
	}
	return nil, ""
}

// maxReadSeats bounds the seats a read record lists besides the chosen block.
const maxReadSeats = 16

// readAndList reads the seat map of the user's event, restricted to section, and records the
// read listing the seats pick returns from the answer (they must be shown available) and those
// it noted (held or sold, at most maxReadSeats); it returns what pick returned and whether the
// read succeeded.
func (u *user) readAndList(ctx context.Context, section string, pick func(status map[string]string, note func(id string)) []string) ([]string, bool) {
	var chosen []string
	rec := u.patiently(ctx, func() history.Record {
		rec, status := u.d.client.readSeats(ctx, &u.caller, u.p.Event, section)
		chosen = nil
		if status == nil {
			return rec
		}
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
		chosen = pick(status, note)
		rec.Out.Available = chosen
		rec.In.Seats = append(append([]string(nil), chosen...), looked...)
		return rec
	})
	return chosen, rec.Type == history.Ok
}

// bestAvailable reads the map of one section (0-based) and returns the best block of Count
// adjacent seats available in it, nil when none fits. It records the read, restricted to the
// seats the user looked at. read is false when the read failed.
func (u *user) bestAvailable(ctx context.Context, section int) (seats []string, read bool) {
	l := u.d.plan.layout
	return u.readAndList(ctx, SectionName(section), func(status map[string]string, note func(string)) []string {
		for k, n := 0, l.rows*l.perRow; k < n; k++ {
			rank := l.sectionRank(section, k)
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
				return b
			}
		}
		return nil
	})
}

// lookAt reads the map of the section of a planned pick and reports whether the map shows
// every seat of it available. It records the read, listing the pick's seats. read is false
// when the read failed.
func (u *user) lookAt(ctx context.Context, pick []string) (free, read bool) {
	if len(pick) == 0 {
		return false, true
	}
	avail, read := u.readAndList(ctx, sectionOf(pick[0]), func(status map[string]string, note func(string)) []string {
		var avail []string
		for _, id := range pick {
			if status[id] == "available" {
				avail = append(avail, id)
			} else {
				note(id)
			}
		}
		return avail
	})
	return len(avail) == len(pick), read
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
		// Bots do not honour Retry-After: a shed attempt is one of their attempts.
		rec, _ := u.d.client.hold(ctx, &u.caller, in)
		u.record(&rec)
	}
}

// sessionID is the X-Session-Id of user i in run runID.
func sessionID(runID string, i int) string {
	return runID + "-u" + strconv.Itoa(i)
}
