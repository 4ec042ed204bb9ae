package workloads_test

import (
	"encoding/json"
	"fmt"

	"stampede/workloads"
)

func ExampleParse() {
	src := []byte(`name: demo
inventory: {sections: 1, rows: 2, seats_per_row: 4, ga_tiers: [{name: floor, quantity: 100}]}
arrivals: {profile: constant, rate: 50/s, users: 100}
users:
  - {flow: buy, weight: 3, seats: {count: [1, 2], choice: zipf, skew: 1.5}, pay_after: 1s..5s}
  - {flow: browse, weight: 1}
hold_ttl: 5s
`)
	sc, err := workloads.Parse("demo.yaml", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, _ := json.Marshal(sc.EventSpecs()[0])
	fmt.Println(sc.Arrivals.Rate, sc.Users[0].PayAfter, sc.HoldTTL)
	fmt.Println(string(spec))

	_, err = workloads.Parse("demo.yaml", []byte("name: demo\nusers: [{flow: buy, weight: 0}]\n"))
	fmt.Println(err)
	// Output:
	// 50/s 1s..5s 5s
	// {"id":"demo-1","name":"demo","sections":[{"name":"A","rows":2,"seats_per_row":4,"price_cents":5000}],"ga_tiers":[{"name":"floor","quantity":100,"price_cents":5000}]}
	// demo.yaml:1: inventory: missing: say what is on sale (events, sections, rows, seats_per_row, ga_tiers)
	// demo.yaml:1: arrivals: missing: give an arrival profile (constant, ramp, spike or steps)
	// demo.yaml:2: users[0].weight: must be > 0
}

func ExampleParseShard() {
	sh, _ := workloads.ParseShard("1/3")
	fmt.Println(sh.Owns(4), sh.Owns(5))
	_, err := workloads.ParseShard("3/3")
	fmt.Println(err)
	// Output:
	// true false
	// shard 3/3: the index must be in 0..2
}
