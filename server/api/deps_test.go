package api

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestDepsCheck(t *testing.T) {
	full := Deps{Table: Common, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler), Now: time.Now}
	if err := full.Check(); err != nil {
		t.Fatalf("Check of complete Deps = %v, want nil", err)
	}
	tests := []struct {
		name string
		drop func(*Deps)
		want string
	}{
		{name: "table", drop: func(d *Deps) { d.Table = nil }, want: "error table"},
		{name: "registry", drop: func(d *Deps) { d.Registry = nil }, want: "registry"},
		{name: "logger", drop: func(d *Deps) { d.Logger = nil }, want: "logger"},
		{name: "clock", drop: func(d *Deps) { d.Now = nil }, want: "clock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := full
			tc.drop(&d)
			if err := d.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check without the %s = %v, want an error naming it", tc.name, err)
			}
		})
	}
}
