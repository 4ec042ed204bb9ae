package workloads

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestAttributionOfNoMeasurableTime: a driver that waited less than the figures' resolution
// against a target whose /metrics cannot be read gets costs of 0 s with shares of 0, never
// NaN, and its summary still encodes.
func TestAttributionOfNoMeasurableTime(t *testing.T) {
	s := &Summary{}
	s.Generator.LagSeconds = 0.0001 // rounds to 0 s
	a := attribute(s, nil, errors.New("invalid metric name"))
	for _, c := range a.Costs {
		if c.Share != 0 {
			t.Errorf("cost %+v: share %v, want 0", c, c.Share)
		}
	}
	s.Attribution = a
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("encode a summary that measured no time: %v", err)
	}
}
