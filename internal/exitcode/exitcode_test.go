package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestWorst(t *testing.T) {
	tests := []struct {
		name  string
		codes []int
		want  int
	}{
		{"none", nil, OK},
		{"all ok", []int{OK, OK}, OK},
		{"gate", []int{OK, Gate}, Gate},
		{"coverage over gate", []int{Gate, Coverage}, Coverage},
		{"harness over coverage", []int{Coverage, Harness, Gate}, Harness},
		{"interrupted over harness", []int{Harness, Interrupted}, Interrupted},
		{"violation over everything", []int{Gate, Interrupted, Violation, Harness, Coverage}, Violation},
		{"violation first", []int{Violation, Gate}, Violation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Worst(tt.codes...); got != tt.want {
				t.Errorf("Worst(%v) = %d, want %d", tt.codes, got, tt.want)
			}
		})
	}
}

func TestOf(t *testing.T) {
	wrapped := fmt.Errorf("run: %w", With(Gate, errors.New("hold p99 regressed")))
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"plain error", errors.New("postgres did not start"), Harness},
		{"wrapped code", wrapped, Gate},
		{"bare code", With(Violation, nil), Violation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Errorf("Of(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
	if got := wrapped.Error(); got != "run: hold p99 regressed" {
		t.Errorf("wrapped.Error() = %q", got)
	}
}

// TestMeaning: every code has its line of the table, and its name.
func TestMeaning(t *testing.T) {
	for _, c := range Codes() {
		if Meaning(c) == "" || Name(c) == fmt.Sprintf("exit %d", c) {
			t.Errorf("code %d: Meaning %q, Name %q; want both", c, Meaning(c), Name(c))
		}
	}
	if Meaning(42) != "" {
		t.Errorf("Meaning(42) = %q, want empty", Meaning(42))
	}
}
