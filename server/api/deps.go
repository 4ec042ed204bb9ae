package api

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Deps are what every area of the server takes from it: the error table its answers go through,
// the registry its metrics go to, the logger of its background work, and its clock. All are
// required; the server fills in their defaults, once (server.New).
type Deps struct {
	Table    Table
	Registry prometheus.Registerer
	Logger   *slog.Logger
	Now      func() time.Time
}

// Check reports the first dependency missing from d.
func (d Deps) Check() error {
	switch {
	case d.Table == nil:
		return errors.New("no error table")
	case d.Registry == nil:
		return errors.New("no metrics registry")
	case d.Logger == nil:
		return errors.New("no logger")
	case d.Now == nil:
		return errors.New("no clock")
	}
	return nil
}
