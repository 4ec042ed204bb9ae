package workloads

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Inventory describes the events a scenario sells: each of Events events has Sections
// sections (named A, B, ..., Z, AA, ...) of Rows rows of SeatsPerRow seats, plus the
// general-admission tiers.
type Inventory struct {
	Events      int
	Sections    int
	Rows        int
	SeatsPerRow int
	// PriceCents is the price of a reserved seat; default 5000.
	PriceCents int
	GATiers    []GATier
	// Performer, Venue and City describe the events for the browse and search pages.
	Performer, Venue, City string
}

// GATier is a general-admission tier: Quantity interchangeable units.
type GATier struct {
	Name       string
	Quantity   int
	PriceCents int
}

// EventSpec is the body of POST /admin/events (api.yaml components.schemas.EventSpec).
type EventSpec struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Performer   string           `json:"performer,omitempty"`
	Venue       string           `json:"venue,omitempty"`
	City        string           `json:"city,omitempty"`
	Sections    []SectionSpec    `json:"sections,omitempty"`
	GATiers     []TierSpec       `json:"ga_tiers,omitempty"`
	WaitingRoom *WaitingRoomSpec `json:"waiting_room,omitempty"`
}

// SectionSpec is one reserved-seating section of an EventSpec.
type SectionSpec struct {
	Name        string `json:"name"`
	Rows        int    `json:"rows"`
	SeatsPerRow int    `json:"seats_per_row"`
	PriceCents  int    `json:"price_cents,omitempty"`
}

// TierSpec is one general-admission tier of an EventSpec.
type TierSpec struct {
	Name       string `json:"name"`
	Quantity   int    `json:"quantity"`
	PriceCents int    `json:"price_cents,omitempty"`
}

// WaitingRoomSpec is the waiting-room part of an EventSpec.
type WaitingRoomSpec struct {
	Enabled        bool    `json:"enabled"`
	AdmitPerSecond float64 `json:"admit_per_second"`
}

// EventIDs returns the ids of the scenario's events: `<prefix>-1` ... `<prefix>-N`, where the
// prefix is EventPrefix or, when empty, Name.
func (s *Scenario) EventIDs() []string {
	prefix := s.EventPrefix
	if prefix == "" {
		prefix = s.Name
	}
	n := max(s.Inventory.Events, 1)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i+1)
	}
	return ids
}

// EventSpecs returns, for each event of the scenario, the EventSpec to create it with
// (POST /admin/events): its sections, GA tiers and waiting room.
func (s *Scenario) EventSpecs() []EventSpec {
	inv := s.Inventory
	var sections []SectionSpec
	for i := 0; i < inv.Sections && inv.Rows > 0 && inv.SeatsPerRow > 0; i++ {
		sections = append(sections, SectionSpec{Name: SectionName(i), Rows: inv.Rows, SeatsPerRow: inv.SeatsPerRow, PriceCents: inv.PriceCents})
	}
	var tiers []TierSpec
	for _, t := range inv.GATiers {
		tiers = append(tiers, TierSpec(t))
	}
	var wr *WaitingRoomSpec
	if s.WaitingRoom.Enabled {
		wr = &WaitingRoomSpec{Enabled: true, AdmitPerSecond: s.WaitingRoom.AdmitRate.PerSecond()}
	}
	ids := s.EventIDs()
	specs := make([]EventSpec, len(ids))
	for i, id := range ids {
		name := s.Name
		if len(ids) > 1 {
			name = fmt.Sprintf("%s night %d", s.Name, i+1)
		}
		specs[i] = EventSpec{
			ID: id, Name: name, Performer: inv.Performer, Venue: inv.Venue, City: inv.City,
			Sections: sections, GATiers: tiers, WaitingRoom: wr,
		}
	}
	return specs
}

// SectionName names the i-th section (0-based): A..Z, then AA..ZZ, like spreadsheet columns.
func SectionName(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	i -= 26
	return string(rune('A'+i/26)) + string(rune('A'+i%26))
}

// sectionIndex is the inverse of SectionName, or -1.
func sectionIndex(name string) int {
	switch len(name) {
	case 1:
		if name[0] >= 'A' && name[0] <= 'Z' {
			return int(name[0] - 'A')
		}
	case 2:
		if name[0] >= 'A' && name[0] <= 'Z' && name[1] >= 'A' && name[1] <= 'Z' {
			return 26 + int(name[0]-'A')*26 + int(name[1]-'A')
		}
	}
	return -1
}

// SeatID formats a seat id `SECTION-ROW-NUMBER`; section is 0-based, row and number 1-based.
func SeatID(section, row, number int) string {
	var b strings.Builder
	b.Grow(12)
	b.WriteString(SectionName(section))
	b.WriteByte('-')
	b.WriteString(strconv.Itoa(row))
	b.WriteByte('-')
	b.WriteString(strconv.Itoa(number))
	return b.String()
}

// checkSeat reports whether id names a seat of the inventory.
func (inv *Inventory) checkSeat(id string) error {
	m := seatIDRE.FindStringSubmatch(id)
	if m == nil {
		return fmt.Errorf("%q is not a seat id SECTION-ROW-NUMBER (e.g. A-1-1)", id)
	}
	sec := sectionIndex(m[1])
	row, _ := strconv.Atoi(m[2])
	num, _ := strconv.Atoi(m[3])
	if sec < 0 || sec >= inv.Sections || row < 1 || row > inv.Rows || num < 1 || num > inv.SeatsPerRow {
		return fmt.Errorf("%q is not in the inventory (%d sections A..%s, rows 1..%d, seats 1..%d)",
			id, inv.Sections, SectionName(max(inv.Sections-1, 0)), inv.Rows, inv.SeatsPerRow)
	}
	return nil
}

// layout ranks the seats of one event from best to worst: row 1 of every section first, each
// row from its centre outwards. Rank 0 is the best seat.
type layout struct {
	sections, rows, perRow int
}

func (l layout) size() int { return l.sections * l.rows * l.perRow }

// seat returns the section (0-based), row and number (1-based) of the seat at rank.
func (l layout) seat(rank int) (section, row, number int) {
	perRank := l.sections * l.perRow
	row = rank/perRank + 1
	rest := rank % perRank
	section = rest / l.perRow
	k := rest % l.perRow
	c := (l.perRow + 1) / 2
	switch {
	case k == 0:
		number = c
	case k%2 == 1:
		number = c + (k+1)/2
	default:
		number = c - k/2
	}
	return section, row, number
}

// sectionRank returns the rank of the k-th best seat of one section (0-based; 0 <= k <
// rows*perRow): the section's seats in the order of the venue's ranking.
func (l layout) sectionRank(section, k int) int {
	return k/l.perRow*l.sections*l.perRow + section*l.perRow + k%l.perRow
}

// block returns count adjacent seats of one row containing the seat at rank, shifted left
// when the row ends.
func (l layout) block(rank, count int) []string {
	sec, row, num := l.seat(rank)
	start := num
	if start+count-1 > l.perRow {
		start = l.perRow - count + 1
	}
	start = max(start, 1)
	out := make([]string, 0, count)
	for n := start; n < start+count && n <= l.perRow; n++ {
		out = append(out, SeatID(sec, row, n))
	}
	return out
}

var (
	tierRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	seatIDRE  = regexp.MustCompile(`^([A-Za-z0-9]{1,8})-([0-9]{1,3})-([0-9]{1,3})$`)
	maxPerRow = 500
)

// fileInventory mirrors the inventory section of a scenario file.
type fileInventory struct {
	Events      *int         `yaml:"events"`
	Sections    int          `yaml:"sections"`
	Rows        int          `yaml:"rows"`
	SeatsPerRow int          `yaml:"seats_per_row"`
	PriceCents  *int         `yaml:"price_cents"`
	GATiers     []fileGATier `yaml:"ga_tiers"`
	Performer   string       `yaml:"performer"`
	Venue       string       `yaml:"venue"`
	City        string       `yaml:"city"`
}

// fileGATier mirrors one tier of inventory.ga_tiers of a scenario file.
type fileGATier struct {
	Name       string `yaml:"name"`
	Quantity   int    `yaml:"quantity"`
	PriceCents *int   `yaml:"price_cents"`
}

func (v *validator) inventory(fi *fileInventory) Inventory {
	if fi == nil {
		v.errf("inventory", "missing: say what is on sale (events, sections, rows, seats_per_row, ga_tiers)")
		return Inventory{}
	}
	inv := Inventory{
		Events: 1, Sections: fi.Sections, Rows: fi.Rows, SeatsPerRow: fi.SeatsPerRow,
		PriceCents: DefaultPriceCents, Performer: fi.Performer, Venue: fi.Venue, City: fi.City,
	}
	inv.Events = v.intIn("inventory.events", fi.Events, 1, 1000, inv.Events)
	if fi.PriceCents != nil {
		inv.PriceCents = *fi.PriceCents
		if inv.PriceCents < 1 {
			v.errf("inventory.price_cents", "must be >= 1")
		}
	}
	seated := fi.Sections != 0 || fi.Rows != 0 || fi.SeatsPerRow != 0
	if seated {
		if fi.Sections < 1 || fi.Sections > 702 {
			v.errf("inventory.sections", "%d: must be 1..702", fi.Sections)
		}
		if fi.Rows < 1 || fi.Rows > maxPerRow {
			v.errf("inventory.rows", "%d: must be 1..%d", fi.Rows, maxPerRow)
		}
		if fi.SeatsPerRow < 1 || fi.SeatsPerRow > maxPerRow {
			v.errf("inventory.seats_per_row", "%d: must be 1..%d", fi.SeatsPerRow, maxPerRow)
		}
	}
	seen := map[string]bool{}
	for i, t := range fi.GATiers {
		field := fmt.Sprintf("inventory.ga_tiers[%d]", i)
		gt := GATier{Name: t.Name, Quantity: t.Quantity, PriceCents: DefaultPriceCents}
		switch {
		case t.Name == "":
			v.errf(field+".name", "missing")
		case !tierRE.MatchString(t.Name):
			v.errf(field+".name", "%q: use 1-32 of A-Z a-z 0-9 _ -", t.Name)
		case seen[t.Name]:
			v.errf(field+".name", "%q: tier named twice", t.Name)
		}
		seen[t.Name] = true
		if t.Quantity < 1 || t.Quantity > 10_000_000 {
			v.errf(field+".quantity", "%d: must be 1..10000000", t.Quantity)
		}
		if t.PriceCents != nil {
			gt.PriceCents = *t.PriceCents
			if gt.PriceCents < 1 {
				v.errf(field+".price_cents", "must be >= 1")
			}
		}
		inv.GATiers = append(inv.GATiers, gt)
	}
	if !seated && len(fi.GATiers) == 0 {
		v.errf("inventory", "nothing on sale: give sections, rows and seats_per_row, or ga_tiers")
	}
	return inv
}
