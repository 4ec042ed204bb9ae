package workloads

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"stampede/history"
)

// TestSeatMapReads drives zipf and best-available buyers against targets that understand the
// section and compact parameters, one of them, or neither (refusing them, or ignoring them as
// an older target does), and checks what the driver asked, what it recorded and what it
// learnt.
func TestSeatMapReads(t *testing.T) {
	tests := []struct {
		name    string
		knows   []string
		refuse  int
		asOf    bool
		section string // what the driver should find out
		compact string
		// lastQuery is what the driver asks once it knows.
		lastQuery string
		fallbacks bool
	}{
		{name: "section and compact", knows: []string{"section", "format"}, asOf: true,
			section: "yes", compact: "yes", lastQuery: "format=compact&section="},
		{name: "section only, compact refused", knows: []string{"section"}, refuse: 400,
			section: "yes", compact: "no", lastQuery: "section=", fallbacks: true},
		{name: "older target refusing both", refuse: 404,
			section: "no", compact: "no", lastQuery: "", fallbacks: true},
		{name: "older target ignoring both", asOf: true,
			section: "no", compact: "no", lastQuery: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub, srv := newContractStub(t)
			stub.sectionCount = 2
			stub.refuseStatus = tt.refuse
			stub.asOf = tt.asOf
			stub.knows = map[string]bool{}
			for _, k := range tt.knows {
				stub.knows[k] = true
			}
			sc, err := Parse("map.yaml", []byte(`name: map
seed: 3
inventory: {sections: 2, rows: 2, seats_per_row: 10}
arrivals: {profile: constant, rate: 50/s, users: 12}
users:
  - {flow: buy, weight: 2, seats: {count: 1, choice: zipf, skew: 1.5}, hold_tries: 2}
  - {flow: buy, weight: 1, seats: {count: 2}}
`))
			if err != nil {
				t.Fatal(err)
			}
			var h bytes.Buffer
			sum, err := Run(context.Background(), Config{Scenario: sc, Target: srv.URL, History: history.NewWriter(&h)})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := history.ReadAll(&h)
			if err != nil {
				t.Fatal(err)
			}
			var reads, holds int
			for _, r := range recs {
				switch {
				case r.Op == history.OpRead:
					if r.Type != history.Ok {
						t.Errorf("read of client %d = %s %d %s, want ok (refusals are sent again, not recorded)",
							r.Client, r.Type, r.Out.Status, r.Out.Code)
						continue
					}
					reads++
					if (r.Out.AsOf != 0) != tt.asOf {
						t.Errorf("read of client %d has as_of %d, want one: %v", r.Client, r.Out.AsOf, tt.asOf)
					}
					for _, id := range r.In.Seats {
						if sectionOf(id) != sectionOf(r.In.Seats[0]) {
							t.Errorf("read of client %d lists seats of several sections: %v", r.Client, r.In.Seats)
						}
					}
				case r.Op == history.OpHold && r.Type == history.Ok:
					holds++
				}
			}
			if reads == 0 || holds == 0 {
				t.Fatalf("%d reads and %d holds, want some of each", reads, holds)
			}
			sm := sum.SeatMap
			if sm.Section != tt.section || sm.Compact != tt.compact || (sm.Fallbacks > 0) != tt.fallbacks || sm.Reads != int64(reads) {
				t.Errorf("seat map stats %+v, want section %q, compact %q, fallbacks %v, %d reads", sm, tt.section, tt.compact, tt.fallbacks, reads)
			}
			if tt.compact == "yes" && sm.CompactReads != sm.Reads {
				t.Errorf("%d of %d reads compact, want all", sm.CompactReads, sm.Reads)
			}
			qs := stub.queries()
			if len(qs) == 0 || !strings.Contains(qs[0], "section=") || !strings.Contains(qs[0], "format=compact") {
				t.Errorf("first seat-map query %q, want section and format=compact", qs)
			}
			last := qs[len(qs)-1]
			if !strings.HasPrefix(last, tt.lastQuery) || (tt.lastQuery == "" && last != "") {
				t.Errorf("last seat-map query %q, want it to start with %q", last, tt.lastQuery)
			}
		})
	}
}

func TestCompactStatuses(t *testing.T) {
	tests := []struct {
		name string
		body availabilityAnswer
		want map[string]string
		ok   bool
	}{
		{"full form", availabilityAnswer{Seats: []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}{{"A-1-1", "sold"}}}, map[string]string{"A-1-1": "sold"}, true},
		{"compact with a gap", availabilityAnswer{Format: "compact", Sections: []struct {
			Name string   `json:"name"`
			Rows []string `json:"rows"`
		}{{"B", []string{"a-h", "s"}}}}, map[string]string{"B-1-1": "available", "B-1-3": "held", "B-2-1": "sold"}, true},
		{"compact with an unknown character", availabilityAnswer{Format: "compact", Sections: []struct {
			Name string   `json:"name"`
			Rows []string `json:"rows"`
		}{{"B", []string{"ax"}}}}, nil, false},
		{"compact without sections", availabilityAnswer{Format: "compact"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.body.statuses()
			if ok != tt.ok || len(got) != len(tt.want) {
				t.Fatalf("statuses() = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
			for id, st := range tt.want {
				if got[id] != st {
					t.Errorf("statuses()[%s] = %q, want %q", id, got[id], st)
				}
			}
		})
	}
}
