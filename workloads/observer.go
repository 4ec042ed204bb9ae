package workloads

import (
	"slices"
	"time"

	"stampede/history"
)

// Observer follows a run while it goes: what live metrics are made of (package workloads/prom
// exports them to Prometheus). Give it to the driver as Config.Observer. The driver calls it
// from many goroutines at once, on the path of every request: its methods must be safe for
// concurrent use and quick, and must not keep the records they are given.
type Observer interface {
	// Begin is called once, when the arrivals start, with the running driver, whose gauges
	// (InFlight, ActiveUsers) may be read from then on, also after Run has returned.
	Begin(d *Driver)
	// Arrival is called for every arrival of the shard when it is handed to a user or dropped:
	// lag is how long after the moment the arrival profile meant that is (zero when on time),
	// the driver's own lateness, which an open model must not hide; dropped is true when
	// MaxActive users were running and the arrival was dropped.
	Arrival(lag time.Duration, dropped bool)
	// Record is called with every record the driver writes to the history: a client operation
	// with due, the moment on the run's clock it was due (so Ret-min(due, Call) is its latency
	// as its user saw it), or a fault record written through Annotate, with due 0.
	Record(rec *history.Record, due int64)
}

// InFlight returns the number of requests the driver has under way now: sent, or waiting for
// one of the MaxConns connections. It is safe to call at any time.
func (d *Driver) InFlight() int64 { return d.client.inFlight.Load() }

// ActiveUsers returns the number of users running now. It is safe to call at any time.
func (d *Driver) ActiveUsers() int64 { return d.rec.active.Load() }

// observeArrival tells the observer, if any, of an arrival due at the given offset of the run's
// clock.
func (d *Driver) observeArrival(at int64, dropped bool) {
	if d.cfg.Observer == nil {
		return
	}
	d.cfg.Observer.Arrival(time.Duration(max(d.clock.Now()-at, 0)), dropped)
}

// Operations returns the client operations the driver records, in a fixed order.
func Operations() []history.Kind { return slices.Clone(opKinds[:]) }
