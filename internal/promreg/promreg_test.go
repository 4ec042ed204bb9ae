package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegister(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "promreg_test_total", Help: "A test counter."}
	var err error
	first := Register(reg, prometheus.NewCounter(opts), &err)
	second := Register(reg, prometheus.NewCounter(opts), &err)
	if err != nil {
		t.Fatalf("Register of the same counter twice: %v, want no error", err)
	}
	if first != second {
		t.Fatalf("Register of the same counter twice returned two collectors, want the first one reused")
	}
	// The same name with another help string is a conflict, not a reuse.
	clash := prometheus.NewCounter(prometheus.CounterOpts{Name: "promreg_test_total", Help: "Another help."})
	if got := Register(reg, clash, &err); got != clash || err == nil {
		t.Fatalf("Register of a clashing counter = %v, err %v; want it back unregistered with an error", got, err)
	}
	kept := err
	other := prometheus.NewGauge(prometheus.GaugeOpts{Name: "promreg_test_total", Help: "A gauge."})
	Register(reg, other, &err)
	if err != kept {
		t.Fatalf("a second failure replaced the first error: %v, want %v", err, kept)
	}
}
