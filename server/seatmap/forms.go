package seatmap

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"stampede/strategies"
)

// Map is the full form, api.yaml's Availability: every seat with its status and price, and the
// general-admission tiers.
type Map struct {
	EventID string                 `json:"event_id"`
	AsOf    string                 `json:"as_of"`
	Seats   []Seat                 `json:"seats"`
	Tiers   []strategies.TierState `json:"ga_tiers"`
}

// Seat is one seat of the full form. Which hold or booking has it is not shown to buyers (the
// ledger shows it).
type Seat struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	PriceCents int64  `json:"price_cents"`
}

// Compact is the compact form, api.yaml's CompactAvailability.
type Compact struct {
	EventID string `json:"event_id"`
	AsOf    string `json:"as_of"`
	// Format is always "compact".
	Format   string                 `json:"format"`
	Sections []Section              `json:"sections"`
	Tiers    []strategies.TierState `json:"ga_tiers"`
}

// Section is one section of the compact form. Rows[r-1] is row r: its byte i-1 is the status
// of seat number i (SeatAvailable, SeatHeld, SeatSold, or NoSeat). PriceCents is the price of
// every seat of the section; 0 (absent) when they differ, and the full form has them.
type Section struct {
	Name       string   `json:"name"`
	PriceCents int64    `json:"price_cents,omitempty"`
	Rows       []string `json:"rows"`
}

// The characters of a compact row.
const (
	SeatAvailable = 'a'
	SeatHeld      = 'h'
	SeatSold      = 's'
	NoSeat        = '-'
)

// FormatCompact is the compact form's format value (and its ?format= parameter).
const FormatCompact = "compact"

// maxCompactIndex bounds a row or seat number in the compact form: a seat id claiming a larger
// one would make rows of that length.
const maxCompactIndex = 10000

// statusChars and charStatuses translate between a seat's status and its compact character.
var (
	statusChars = map[string]byte{
		strategies.SeatAvailable: SeatAvailable,
		strategies.SeatHeld:      SeatHeld,
		strategies.SeatSold:      SeatSold,
	}
	charStatuses = map[byte]string{
		SeatAvailable: strategies.SeatAvailable,
		SeatHeld:      strategies.SeatHeld,
		SeatSold:      strategies.SeatSold,
	}
)

// Expand returns the seats the compact form describes, as the full form lists them (section
// by section, row by row, by seat number; the full form orders them by id). A seat's price is
// its section's PriceCents. It fails on a status character it does not know.
func (c Compact) Expand() ([]Seat, error) {
	var out []Seat
	for _, sec := range c.Sections {
		for r, row := range sec.Rows {
			for i := range len(row) {
				if row[i] == NoSeat {
					continue
				}
				st, ok := charStatuses[row[i]]
				if !ok {
					return nil, fmt.Errorf("section %s row %d seat %d: unknown status %q", sec.Name, r+1, i+1, row[i])
				}
				id := sec.Name + "-" + strconv.Itoa(r+1) + "-" + strconv.Itoa(i+1)
				out = append(out, Seat{ID: id, Status: st, PriceCents: sec.PriceCents})
			}
		}
	}
	return out, nil
}

// snapshot is one read of an event's availability, with the answers encoded from it so far.
// The read is never changed after newSnapshot; answers are encoded once each, on first use.
type snapshot struct {
	// readAt is the server clock when the read began: freshness counts from it.
	readAt   time.Time
	a        strategies.Availability
	sections []section
	byName   map[string]int
	seed     maphash.Seed

	mu      sync.Mutex
	answers map[view]*answer
}

// section is one section's seats: indexes into a.Seats, in their order there.
type section struct {
	name  string
	seats []int
}

// view is one answer a snapshot gives: a section ("" for the whole event) in a form.
type view struct {
	section string
	compact bool
}

// answer is a view encoded: the body (with its final newline) and its ETag, and the same
// compressed with gzip once a client asks for that.
type answer struct {
	once sync.Once
	body []byte
	etag string
	err  error

	gzOnce sync.Once
	gz     []byte
	gzETag string
	gzErr  error

	fileOnce sync.Once
	file     *os.File
}

// sendfileMin is the smallest body sent from a file with sendfile(2) rather than written: the
// full form of a large event (24,000 seats take 1.39 MB), where the copy from user space into
// the socket is most of a request's cost.
const sendfileMin = 256 << 10

// bodyFile returns the body as an in-memory file to send with sendfile(2), made on first use,
// or nil when the body is small or no such file can be made.
func (a *answer) bodyFile() *os.File {
	if len(a.body) < sendfileMin {
		return nil
	}
	a.fileOnce.Do(func() { a.file = bodyFile(a.body) })
	return a.file
}

// gzipped returns the body compressed with gzip (at the fastest level: the full form of 24,000
// seats shrinks about 15 times, in some tens of milliseconds once per snapshot) and its ETag,
// the identity ETag marked as another representation.
func (a *answer) gzipped() ([]byte, string, error) {
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if err == nil {
			_, err = zw.Write(a.body)
		}
		if err == nil {
			err = zw.Close()
		}
		if err != nil {
			a.gzErr = fmt.Errorf("compress seat map: %w", err)
			return
		}
		a.gz = buf.Bytes()
		a.gzETag = strings.TrimSuffix(a.etag, `"`) + `-gzip"`
	})
	return a.gz, a.gzETag, a.gzErr
}

func newSnapshot(a strategies.Availability, readAt time.Time, seed maphash.Seed) *snapshot {
	s := &snapshot{readAt: readAt, a: a, byName: map[string]int{}, seed: seed, answers: map[view]*answer{}}
	for i, st := range a.Seats {
		name := sectionOf(st.ID)
		k, ok := s.byName[name]
		if !ok {
			k = len(s.sections)
			s.byName[name] = k
			s.sections = append(s.sections, section{name: name})
		}
		s.sections[k].seats = append(s.sections[k].seats, i)
	}
	return s
}

// sectionOf is the section part of a seat id SECTION-ROW-NUMBER.
func sectionOf(id string) string {
	name, _, _ := strings.Cut(id, "-")
	return name
}

// answer returns view v of the snapshot, encoding it on first use. A section the event has no
// seat in is ErrSectionNotFound.
func (s *snapshot) answer(v view) (*answer, error) {
	if _, ok := s.byName[v.section]; v.section != "" && !ok {
		return nil, fmt.Errorf("%w: event %s has no section %q", ErrSectionNotFound, s.a.EventID, v.section)
	}
	s.mu.Lock()
	a := s.answers[v]
	if a == nil {
		a = &answer{}
		s.answers[v] = a
	}
	s.mu.Unlock()
	a.once.Do(func() {
		var doc any
		if v.compact {
			doc, a.err = s.compact(v.section)
		} else {
			doc = s.full(v.section)
		}
		if a.err != nil {
			return
		}
		if a.body, a.err = json.Marshal(doc); a.err != nil {
			a.err = fmt.Errorf("encode seat map of %s: %w", s.a.EventID, a.err)
			return
		}
		a.body = append(a.body, '\n')
		a.etag = `"` + strconv.FormatUint(maphash.Bytes(s.seed, a.body), 16) + `"`
	})
	return a, a.err
}

// chosen returns the sections of a view: all of them, or the one named.
func (s *snapshot) chosen(name string) []section {
	if name == "" {
		return s.sections
	}
	return s.sections[s.byName[name] : s.byName[name]+1]
}

// tiers returns the tiers a view shows: all for the whole event, none for a section.
func (s *snapshot) tiers(name string) []strategies.TierState {
	if name != "" || s.a.Tiers == nil {
		return []strategies.TierState{}
	}
	return s.a.Tiers
}

func (s *snapshot) asOf() string { return s.a.AsOf.UTC().Format(time.RFC3339Nano) }

// full is the full form of a view.
func (s *snapshot) full(name string) Map {
	m := Map{EventID: s.a.EventID, AsOf: s.asOf(), Tiers: s.tiers(name)}
	if name == "" {
		m.Seats = make([]Seat, 0, len(s.a.Seats))
		for _, st := range s.a.Seats {
			m.Seats = append(m.Seats, Seat{ID: st.ID, Status: st.Status, PriceCents: st.PriceCents})
		}
		return m
	}
	sec := s.chosen(name)[0]
	m.Seats = make([]Seat, 0, len(sec.seats))
	for _, i := range sec.seats {
		st := s.a.Seats[i]
		m.Seats = append(m.Seats, Seat{ID: st.ID, Status: st.Status, PriceCents: st.PriceCents})
	}
	return m
}

// compact is the compact form of a view. A seat whose id is not SECTION-ROW-NUMBER or whose
// status is unknown is an error: the form cannot show it.
func (s *snapshot) compact(name string) (Compact, error) {
	c := Compact{EventID: s.a.EventID, AsOf: s.asOf(), Format: FormatCompact, Tiers: s.tiers(name)}
	for _, sec := range s.chosen(name) {
		out := Section{Name: sec.name}
		var rows [][]byte
		for k, i := range sec.seats {
			st := s.a.Seats[i]
			row, num, ok := rowAndNumber(st.ID)
			ch, known := statusChars[st.Status]
			if !ok || !known {
				return c, fmt.Errorf("compact seat map of %s: seat %q (%s) is not SECTION-ROW-NUMBER with a known status", s.a.EventID, st.ID, st.Status)
			}
			for len(rows) < row {
				rows = append(rows, nil)
			}
			r := rows[row-1]
			for len(r) < num {
				r = append(r, NoSeat)
			}
			r[num-1] = ch
			rows[row-1] = r
			switch {
			case k == 0:
				out.PriceCents = st.PriceCents
			case st.PriceCents != out.PriceCents:
				out.PriceCents = -1
			}
		}
		out.PriceCents = max(out.PriceCents, 0)
		out.Rows = make([]string, len(rows))
		for i, r := range rows {
			out.Rows[i] = string(r)
		}
		c.Sections = append(c.Sections, out)
	}
	if c.Sections == nil {
		c.Sections = []Section{}
	}
	return c, nil
}

// rowAndNumber parses the row and seat number of a seat id SECTION-ROW-NUMBER.
func rowAndNumber(id string) (row, num int, ok bool) {
	parts := strings.Split(id, "-")
	if len(parts) != 3 {
		return 0, 0, false
	}
	row, err1 := strconv.Atoi(parts[1])
	num, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || row < 1 || num < 1 || row > maxCompactIndex || num > maxCompactIndex {
		return 0, 0, false
	}
	return row, num, true
}
