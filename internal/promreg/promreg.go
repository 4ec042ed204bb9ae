// Package promreg registers Prometheus collectors on a registry that may hold them already.
// Several servers built on one registry in one process (tests, or a run that starts more than
// one server in process) share their metrics instead of failing to register them twice. It
// imports only the Prometheus client.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg and returns it, or returns the collector reg already has under the
// same description. Any other registration error is stored in *errp unless *errp already holds
// one, so that a constructor can register all its metrics and check for an error once; c is then
// returned unregistered.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	if *errp == nil {
		*errp = err
	}
	return c
}
