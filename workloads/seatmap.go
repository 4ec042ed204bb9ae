package workloads

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"stampede/history"
)

// A buyer that looks at the seat map before holding reads only the section it chooses from
// (GET /events/{id}/seats?section=A) and asks for the compact form (&format=compact). Targets
// differ in what they understand, and the driver finds out from their answers, once per run:
//
//   - A target that refuses a parameter (400, or 404 other than event_not_found) is asked
//     again at once without it, compact first, then section; only the last request of a read
//     is recorded, and the refusals are counted (SeatMapStats.Fallbacks).
//   - A target that ignores a parameter (an older one) answers the full form, or seats of
//     other sections: the driver stops sending the parameter and uses the answer as it is.
//   - A compact answer the driver cannot decode counts as not understood: the read is sent
//     again without format=compact, which is not asked for again.
//
// The compact form the driver understands is
//
//	{"event_id": "...", "as_of": "<RFC 3339>", "format": "compact",
//	 "sections": [{"name": "A", "rows": ["aahs-a", ...]}]}
//
// where rows[r] is row r+1 of the section and its character n is seat n+1: a available,
// h held, s sold, - no seat there. The full form is api.yaml's Availability. Either may carry
// as_of, the moment the map describes (a target answering from a snapshot shares it between
// readers); the read's record keeps it (history.Output.AsOf) for the checker.

// maxSeatMapFallbacks bounds the requests of one read sent again without a parameter.
const maxSeatMapFallbacks = 3

// Support states of a seat-map parameter.
const (
	supportUnknown int32 = iota
	supportYes
	supportNo
)

// seatMapSupport is what the target understood of the seat-map parameters, learnt from its
// answers. It is safe for concurrent use.
type seatMapSupport struct {
	section, compact        atomic.Int32
	fallbacks, compactReads atomic.Int64
	sectionReads, reads     atomic.Int64
}

// SeatMapStats says how the buyers' seat-map reads went: how many there were, how many were
// restricted to a section and how many came in the compact form, how many requests the target
// refused for a parameter and were sent again without it, and what the target was found to
// understand ("yes", "no", or "" when no answer told).
type SeatMapStats struct {
	Reads        int64  `json:"reads"`
	SectionReads int64  `json:"section_reads"`
	CompactReads int64  `json:"compact_reads"`
	Fallbacks    int64  `json:"fallbacks"`
	Section      string `json:"section,omitempty"`
	Compact      string `json:"compact,omitempty"`
}

func supportText(v int32) string {
	switch v {
	case supportYes:
		return "yes"
	case supportNo:
		return "no"
	}
	return ""
}

// stats returns the figures so far.
func (s *seatMapSupport) stats() SeatMapStats {
	return SeatMapStats{
		Reads: s.reads.Load(), SectionReads: s.sectionReads.Load(), CompactReads: s.compactReads.Load(),
		Fallbacks: s.fallbacks.Load(), Section: supportText(s.section.Load()), Compact: supportText(s.compact.Load()),
	}
}

// availabilityAnswer is api.yaml's Availability, or the compact form, reduced to what the
// driver uses.
type availabilityAnswer struct {
	AsOf   string `json:"as_of"`
	Format string `json:"format"`
	Seats  []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"seats"`
	Sections []struct {
		Name string   `json:"name"`
		Rows []string `json:"rows"`
	} `json:"sections"`
}

// compactStatus maps a character of the compact form to a seat status; ok is false for a
// character the driver does not know.
func compactStatus(c byte) (status string, seat, ok bool) {
	switch c {
	case 'a':
		return "available", true, true
	case 'h':
		return "held", true, true
	case 's':
		return "sold", true, true
	case '-':
		return "", false, true
	}
	return "", false, false
}

// statuses returns the status of every seat an answer shows; ok is false for a compact answer
// that does not decode.
func (m *availabilityAnswer) statuses() (map[string]string, bool) {
	if m.Format != "compact" {
		out := make(map[string]string, len(m.Seats))
		for _, s := range m.Seats {
			out[s.ID] = s.Status
		}
		return out, true
	}
	if m.Sections == nil {
		return nil, false
	}
	out := map[string]string{}
	var id strings.Builder
	for _, sec := range m.Sections {
		if sec.Name == "" {
			return nil, false
		}
		for r, row := range sec.Rows {
			for n := 0; n < len(row); n++ {
				st, seat, ok := compactStatus(row[n])
				if !ok {
					return nil, false
				}
				if !seat {
					continue
				}
				id.Reset()
				id.WriteString(sec.Name)
				id.WriteByte('-')
				id.WriteString(strconv.Itoa(r + 1))
				id.WriteByte('-')
				id.WriteString(strconv.Itoa(n + 1))
				out[id.String()] = st
			}
		}
	}
	return out, true
}

// sectionOf is the section of a seat id (`A` of `A-12-7`).
func sectionOf(id string) string {
	if i := strings.IndexByte(id, '-'); i >= 0 {
		return id[:i]
	}
	return id
}

// readSeats sends GET /events/{id}/seats for who, restricted to section (when not empty and
// the target understands it) and in the compact form when the target offers it. It returns the
// read's record, with the map's as_of, and the status of every seat the answer showed (nil
// unless the record is ok). The record lists no seats: the caller adds those it looked at.
// who.last covers the whole read: from the first request to the last.
func (c *client) readSeats(ctx context.Context, who *caller, event, section string) (history.Record, map[string]string) {
	sm := &c.seatMap
	path := "/events/" + url.PathEscape(event) + "/seats"
	in := history.Input{Event: event, Session: who.session}
	var begin int64
	var waited time.Duration
	for attempt := 0; ; attempt++ {
		useSection := section != "" && sm.section.Load() != supportNo
		useCompact := sm.compact.Load() != supportNo
		q := url.Values{}
		if useSection {
			q.Set("section", section)
		}
		if useCompact {
			q.Set("format", "compact")
		}
		target := path
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		a := c.do(ctx, who, http.MethodGet, target, nil, nil)
		if attempt == 0 {
			begin = who.last.begin
		}
		waited += who.last.slotWait
		who.last.begin, who.last.slotWait = begin, waited
		refused := a.status == http.StatusBadRequest || a.status == http.StatusNotFound && a.code != "event_not_found"
		if refused && (useSection || useCompact) && attempt < maxSeatMapFallbacks {
			// The target does not understand a parameter: drop one (compact first) and ask
			// again. A compact dropped here is tried again once the section is gone, as it
			// may not have been the one refused.
			if useCompact {
				sm.compact.Store(supportNo)
			} else {
				sm.section.Store(supportNo)
				sm.compact.CompareAndSwap(supportNo, supportUnknown)
			}
			sm.fallbacks.Add(1)
			continue
		}
		rec := a.record(who.index, history.OpRead, in)
		if a.typ != history.Ok {
			return rec, nil
		}
		var m availabilityAnswer
		if err := json.Unmarshal(a.body, &m); err != nil {
			rec.Type = history.Info
			rec.Out.Error = "seat map does not decode"
			return rec, nil
		}
		status, ok := m.statuses()
		if !ok {
			if useCompact && attempt < maxSeatMapFallbacks {
				sm.compact.Store(supportNo)
				sm.fallbacks.Add(1)
				continue
			}
			rec.Type = history.Info
			rec.Out.Error = "compact seat map does not decode"
			return rec, nil
		}
		if useCompact {
			if m.Format == "compact" {
				sm.compact.Store(supportYes)
				sm.compactReads.Add(1)
			} else {
				sm.compact.Store(supportNo) // ignored: an older target
			}
		}
		if useSection {
			if onlySection(status, section) {
				sm.section.CompareAndSwap(supportUnknown, supportYes)
				sm.sectionReads.Add(1)
			} else {
				sm.section.Store(supportNo) // ignored: the answer shows other sections
			}
		}
		sm.reads.Add(1)
		if t, err := time.Parse(time.RFC3339Nano, m.AsOf); err == nil {
			rec.Out.AsOf = t.UnixNano()
		}
		return rec, status
	}
}

// onlySection reports whether every seat of status is in section.
func onlySection(status map[string]string, section string) bool {
	for id := range status {
		if sectionOf(id) != section {
			return false
		}
	}
	return true
}
