package strategies_test

import (
	"fmt"
	"strings"
	"testing"
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

// TestNeedsRedis: the strategies that keep holds in Redis say so, so that a run refuses them
// up front when no Redis is given.
func TestNeedsRedis(t *testing.T) {
	for _, name := range strategies.Names() {
		want := strings.HasPrefix(name, "redis-lock")
		if got := strategies.NeedsRedis(name); got != want {
			t.Errorf("NeedsRedis(%q) = %v, want %v", name, got, want)
		}
	}
}
