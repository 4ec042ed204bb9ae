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

func TestPaymentAndCrashFaults(t *testing.T) {
	// The processor faults act on its answers; only server-crash kills the server.
	if got, want := PaymentFaults(), []string{"psp-ambiguous", "psp-delay", "psp-errors"}; !slices.Equal(got, want) {
		t.Errorf("PaymentFaults() = %v, want %v", got, want)
	}
	if got, want := CrashFaults(), []string{"server-crash"}; !slices.Equal(got, want) {
		t.Errorf("CrashFaults() = %v, want %v", got, want)
	}
}
