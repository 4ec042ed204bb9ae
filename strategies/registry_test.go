package strategies_test

import (
	"fmt"
	"time"

	"stampede/strategies"
)

func ExampleHoldTTLOrDefault() {
	fmt.Println(strategies.HoldTTLOrDefault(0))
	fmt.Println(strategies.HoldTTLOrDefault(-time.Second))
	fmt.Println(strategies.HoldTTLOrDefault(2 * time.Second))
	// Output:
	// 10m0s
	// 10m0s
	// 2s
}
