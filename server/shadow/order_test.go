package shadow

import (
	"slices"
	"testing"
	"time"

	"stampede/server/api"
	"stampede/strategies"
)

// orderShadow is a Shadow with only what order needs: the error table and an empty model.
func orderShadow() *Shadow {
	return &Shadow{cfg: Config{Deps: api.Deps{Table: slices.Concat(api.Common, api.Unknown)}}, model: newModel()}
}

// seatHold is a hold of one seat of ev1, stamped start..end, granted as holdID ("" for refused
// as unavailable).
func seatHold(seat, holdID string, start, end uint64, at time.Time) *op {
	o := &op{kind: opHold, start: start, end: end, at: at,
		req: strategies.HoldRequest{EventID: "ev1", Session: "s", Seats: []string{seat}}}
	if holdID == "" {
		o.err = strategies.ErrUnavailable
	} else {
		o.hold = strategies.Hold{ID: holdID, Expires: at.Add(10 * time.Minute)}
	}
	return o
}

func tierHoldOp(quantity int, holdID string, start, end uint64, at time.Time) *op {
	o := &op{kind: opHold, start: start, end: end, at: at,
		req: strategies.HoldRequest{EventID: "ev1", Session: "s", Tier: "floor", Quantity: quantity}}
	if holdID == "" {
		o.err = strategies.ErrSoldOut
	} else {
		o.hold = strategies.Hold{ID: holdID, Expires: at.Add(10 * time.Minute)}
	}
	return o
}

func release(holdID string, start, end uint64, at time.Time) *op {
	return &op{kind: opRelease, holdID: holdID, start: start, end: end, at: at}
}

// names lists ops as "kind holdID-or-refused", in order.
func names(ops []*op) []string {
	var out []string
	for _, o := range ops {
		switch {
		case o.kind != opHold:
			out = append(out, o.kind.String()+" "+o.holdID)
		case o.err != nil:
			out = append(out, "hold refused")
		default:
			out = append(out, "hold "+o.hold.ID)
		}
	}
	return out
}

// TestOrderRefusalOverlappingRelease: a hold refused while the release of the hold that had its
// seats was in flight, the release ending first. The primary decided the refusal before the
// release took effect (the only order its answers allow), so the refusal is replayed before the
// release, whether it ended in the same batch or is still behind it in the queue (then it is
// marked taken); a grant of the seat after the release still finds it free. A refusal that
// started after the release ended keeps its place.
func TestOrderRefusalOverlappingRelease(t *testing.T) {
	at := time.Now()
	refusedFirst := []string{"hold h1", "hold refused", "release h1"}
	for _, tc := range []struct {
		name         string
		batch, ahead []*op
		want         []string
	}{
		// h1 holds A-1-8 (stamps 0..1); its release runs 2..4; a hold of A-1-8 runs 3..5, refused.
		{"same batch", []*op{seatHold("A-1-8", "h1", 0, 1, at), release("h1", 2, 4, at), seatHold("A-1-8", "", 3, 5, at)},
			nil, refusedFirst},
		{"refusal behind the batch", []*op{seatHold("A-1-8", "h1", 0, 1, at), release("h1", 2, 4, at)},
			[]*op{seatHold("A-1-8", "", 3, 7, at)}, refusedFirst},
		{"grant after the release", []*op{seatHold("A-1-8", "h1", 0, 1, at), release("h1", 2, 4, at),
			seatHold("A-1-8", "", 3, 5, at), seatHold("A-1-8", "h2", 3, 6, at)},
			nil, append(refusedFirst, "hold h2")},
		{"tier", []*op{tierHoldOp(40, "h1", 0, 1, at), release("h1", 2, 4, at), tierHoldOp(2, "", 3, 5, at)},
			nil, refusedFirst},
		// Started after the release ended: nothing explains the refusal, and the replay reports
		// what the shadow decides.
		{"refusal after the release", []*op{seatHold("A-1-8", "h1", 0, 1, at), release("h1", 2, 3, at),
			seatHold("A-1-8", "", 4, 5, at)}, nil, []string{"hold h1", "release h1", "hold refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := orderShadow()
			s.model.setCapacity(strategies.Event{ID: "ev1", Tiers: []strategies.Tier{{Name: "floor", Quantity: 40}}})
			out := s.order(tc.batch, tc.ahead)
			if got := names(out); !slices.Equal(got, tc.want) {
				t.Fatalf("order = %q, want %q", got, tc.want)
			}
			for _, x := range tc.ahead {
				if !x.taken {
					t.Errorf("%q, replayed ahead of its batch, is not marked taken", names([]*op{x}))
				}
			}
		})
	}
}

func confirm(holdID string, start, end uint64, at time.Time) *op {
	return &op{kind: opConfirm, holdID: holdID, start: start, end: end, at: at}
}

// TestOrderConfirmAfterItsHold: h2 was granted A-1-8 while the release of h1, which had it, was
// still in flight (the release committed before it answered), and h2 was confirmed. The grant
// waits for the release, and the confirm waits for the grant: replayed before it, the confirm
// would find h2 unknown to the shadow, be skipped, and leave the shadow's h2 held for ever.
func TestOrderConfirmAfterItsHold(t *testing.T) {
	at := time.Now()
	for _, tc := range []struct {
		name  string
		ahead []*op
		want  []string
	}{
		{"release behind the batch", []*op{release("h1", 2, 9, at)}, []string{"release h1", "hold h2", "confirm h2"}},
		{"release not known yet", nil, []string{"hold h2", "confirm h2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := orderShadow()
			s.order([]*op{seatHold("A-1-8", "h1", 0, 1, at)}, nil)
			batch := []*op{seatHold("A-1-8", "h2", 3, 4, at), confirm("h2", 5, 6, at)}
			if got := names(s.order(batch, tc.ahead)); !slices.Equal(got, tc.want) {
				t.Fatalf("order = %q, want %q", got, tc.want)
			}
		})
	}
}
