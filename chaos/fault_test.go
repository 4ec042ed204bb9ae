package chaos

import (
	"slices"
	"testing"
)

func TestHoldLosingFaults(t *testing.T) {
	// A Redis restart or flush takes the locks and holds with it; nothing else loses holds.
	want := []string{"redis-flush", "redis-restart"}
	if got := HoldLosingFaults(); !slices.Equal(got, want) {
		t.Errorf("HoldLosingFaults() = %v, want %v", got, want)
	}
}
