package workloads

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestPlanDeterministic(t *testing.T) {
	for _, name := range []string{"quickstart.yaml", "eras-tour.yaml", "hot-seat.yaml", "general-admission.yaml"} {
		t.Run(name, func(t *testing.T) {
			sc := loadScenario(t, name)
			a, err := NewPlan(sc, 99)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := NewPlan(loadScenario(t, name), 99)
			other, _ := NewPlan(sc, 100)
			n := min(a.Users(), 5000)
			differ := 0
			// Compute b in reverse order: a user's plan must not depend on who was planned before.
			bs := make([]UserPlan, n)
			for i := n - 1; i >= 0; i-- {
				bs[i] = b.User(i)
			}
			for i := 0; i < n; i++ {
				ua := a.User(i)
				if !reflect.DeepEqual(ua, bs[i]) {
					t.Fatalf("user %d: two plans with seed 99 differ:\n%+v\n%+v", i, ua, bs[i])
				}
				uo := other.User(i)
				uo.Arrival = ua.Arrival // the arrival offset does not depend on the seed
				if !reflect.DeepEqual(ua, uo) {
					differ++
				}
			}
			if differ < n/2 {
				t.Errorf("seeds 99 and 100 give the same plan for %d of %d users", n-differ, n)
			}
		})
	}
}

func TestShardUnionIsThePlan(t *testing.T) {
	sc := loadScenario(t, "quickstart.yaml")
	p, err := NewPlan(sc, 42)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 5; n++ {
		seen := make([]int, p.Users())
		for k := 0; k < n; k++ {
			sh := Shard{Index: k, Count: n}
			if n == 1 {
				sh = Shard{}
			}
			sp, _ := NewPlan(sc, 42) // each shard builds its own plan, as on its own machine
			for _, i := range sp.ShardUsers(sh) {
				seen[i]++
				if !reflect.DeepEqual(sp.User(i), p.User(i)) {
					t.Fatalf("shard %d/%d plans user %d differently", k, n, i)
				}
			}
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("with %d shards user %d is run %d times, want once", n, i, c)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr string
	}{
		{"", Shard{}, ""},
		{"0/4", Shard{0, 4}, ""},
		{"3/4", Shard{3, 4}, ""},
		{"4/4", Shard{}, "index must be in 0..3"},
		{"1/0", Shard{}, "count must be >= 1"},
		{"x", Shard{}, "want i/n"},
		{"-1/2", Shard{}, "index must be in 0..1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseShard(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseShard(%q) error %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseShard(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestPlanPicks(t *testing.T) {
	sc := loadScenario(t, "eras-tour.yaml")
	p, err := NewPlan(sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	flows := map[string]int{}
	front := 0
	buyers := 0
	for i := 0; i < 20000; i++ {
		u := p.User(i)
		flows[u.Flow]++
		for _, pick := range u.Picks {
			if len(pick) != u.Count {
				t.Fatalf("user %d pick %v has %d seats, want %d", i, pick, len(pick), u.Count)
			}
			for k, id := range pick {
				if err := sc.Inventory.checkSeat(id); err != nil {
					t.Fatalf("user %d: %v", i, err)
				}
				// Adjacent seats of one row.
				if k > 0 {
					a, b := strings.Split(pick[k-1], "-"), strings.Split(id, "-")
					if a[0] != b[0] || a[1] != b[1] {
						t.Fatalf("user %d pick %v spans rows", i, pick)
					}
				}
			}
		}
		if u.Flow == FlowBuy && u.Tier == "" {
			buyers++
			if strings.Split(u.Picks[0][0], "-")[1] == "1" {
				front++
			}
		}
	}
	// Weights 60/30/5/5 (two buy flows): each share within 2 points.
	total := 20000.0
	for flow, want := range map[string]float64{FlowBrowse: 0.60, FlowBuy: 0.35, FlowBot: 0.05} {
		if got := float64(flows[flow]) / total; got < want-0.02 || got > want+0.02 {
			t.Errorf("flow %s share %.3f, want %.2f", flow, got, want)
		}
	}
	// Zipf with skew 1.2 over 24,000 seats ranked row 1 first: row 1 (800 seats, 3%) draws
	// far more than its share.
	if share := float64(front) / float64(buyers); share < 0.3 {
		t.Errorf("zipf buyers on row 1: %.2f, want a hot spot (>= 0.3)", share)
	}
}

func TestSpecificPicksStayInTheList(t *testing.T) {
	sc := loadScenario(t, "hot-seat.yaml")
	p, _ := NewPlan(sc, 3)
	allowed := map[string]bool{}
	for _, s := range sc.Users[0].Seats.Seats {
		allowed[s] = true
	}
	for i := 0; i < 2000; i++ {
		u := p.User(i)
		if u.FlowIndex != 0 {
			continue
		}
		for _, pick := range u.Picks {
			if !sort.SliceIsSorted(pick, func(a, b int) bool {
				return indexOf(sc.Users[0].Seats.Seats, pick[a]) < indexOf(sc.Users[0].Seats.Seats, pick[b])
			}) {
				t.Fatalf("pick %v not in listed order", pick)
			}
			for _, s := range pick {
				if !allowed[s] {
					t.Fatalf("user %d picks %s, not in the specific list", i, s)
				}
			}
		}
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func TestLayoutRanksCentreOut(t *testing.T) {
	l := layout{sections: 2, rows: 2, perRow: 5}
	var got []string
	for r := 0; r < l.size(); r++ {
		s, row, n := l.seat(r)
		got = append(got, SeatID(s, row, n))
	}
	want := "A-1-3 A-1-4 A-1-2 A-1-5 A-1-1 B-1-3 B-1-4 B-1-2 B-1-5 B-1-1 A-2-3 A-2-4 A-2-2 A-2-5 A-2-1 B-2-3 B-2-4 B-2-2 B-2-5 B-2-1"
	if strings.Join(got, " ") != want {
		t.Errorf("ranking\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if b := l.block(3, 3); strings.Join(b, ",") != "A-1-3,A-1-4,A-1-5" {
		t.Errorf("block(3, 3) = %v, want the row's last three seats", b)
	}
	if SectionName(26) != "AA" || sectionIndex("AA") != 26 || SectionName(701) != "ZZ" {
		t.Errorf("section names wrong: %s %d %s", SectionName(26), sectionIndex("AA"), SectionName(701))
	}
}
