package sut

import (
	"context"
	"errors"
	"fmt"
)

// ErrUnsupported says a system under test, or one of its services, cannot do what was asked:
// a restart of a Redis the run did not start, a pool-exhaustion against a server that is not
// ours. Callers match it with errors.Is; the wrapping error names what is missing.
var ErrUnsupported = errors.New("not supported by this target")

// ErrUnsettled says Settle stopped waiting while work was still open (checkouts in flight).
// The ledgers can still be read; the checker judges what was left.
var ErrUnsettled = errors.New("still unsettled")

// Service is one process or endpoint of a run that faults may act on: a backing service
// (PostgreSQL, MySQL, Redis) or the reference server. What else it can do is found by type
// assertion on Killer, Pauser and Restarter; Kill, Pause, Resume and Restart do that and
// return ErrUnsupported when it cannot. A process the run started (infra/local.Process) can
// do all three; a service it only reaches can do none.
type Service interface {
	// Name is the service: postgres, mysql (mariadb for a local MariaDB), redis or server.
	Name() string
	// Addr is host:port, or a socket path for a unix-socket DSN.
	Addr() string
}

// Killer is a service that can be killed at once (SIGKILL), without a clean shutdown.
type Killer interface {
	Kill() error
}

// Pauser is a service that can be frozen (SIGSTOP: connections hang) and thawed (SIGCONT).
type Pauser interface {
	Pause() error
	Resume() error
}

// Restarter is a service that can be killed and started again at the same address. Databases
// keep their data; a local Redis comes back empty; the reference server resumes its
// unfinished checkouts.
type Restarter interface {
	Restart(ctx context.Context) error
}

// Proxy is a network proxy in the path between the server and one of its backing services
// (an embedded toxiproxy proxy: chaos.NetProxy).
type Proxy interface {
	// AddToxic adds a toxic to the proxy's links, existing and new.
	AddToxic(ctx context.Context, toxic Toxic) error
	// RemoveToxic removes a toxic by name.
	RemoveToxic(ctx context.Context, name string) error
	// Disable closes every connection and refuses new ones until Enable.
	Disable() error
	Enable() error
}

// Toxic is a toxiproxy toxic definition, as toxiproxy's API takes it in JSON.
type Toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float64        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// KillerFunc adapts a function to Killer.
type KillerFunc func() error

// Kill calls f.
func (f KillerFunc) Kill() error { return f() }

// RestarterFunc adapts a function to Restarter.
type RestarterFunc func(ctx context.Context) error

// Restart calls f.
func (f RestarterFunc) Restart(ctx context.Context) error { return f(ctx) }

// PauserFuncs adapts a pair of functions to Pauser.
type PauserFuncs struct {
	PauseFunc, ResumeFunc func() error
}

// Pause calls p.PauseFunc.
func (p PauserFuncs) Pause() error { return p.PauseFunc() }

// Resume calls p.ResumeFunc.
func (p PauserFuncs) Resume() error { return p.ResumeFunc() }

var (
	_ Killer    = KillerFunc(nil)
	_ Restarter = RestarterFunc(nil)
	_ Pauser    = PauserFuncs{}
)

// Kill kills s, or returns an error wrapping ErrUnsupported when s cannot be killed or is nil
// (the service is not part of the run).
func Kill(s Service) error {
	k, ok := s.(Killer)
	if !ok {
		return unsupported("kill", s)
	}
	if err := k.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", s.Name(), err)
	}
	return nil
}

// Pause freezes s, or returns an error wrapping ErrUnsupported.
func Pause(s Service) error {
	p, ok := s.(Pauser)
	if !ok {
		return unsupported("pause", s)
	}
	if err := p.Pause(); err != nil {
		return fmt.Errorf("pause %s: %w", s.Name(), err)
	}
	return nil
}

// Resume thaws s, or returns an error wrapping ErrUnsupported.
func Resume(s Service) error {
	p, ok := s.(Pauser)
	if !ok {
		return unsupported("resume", s)
	}
	if err := p.Resume(); err != nil {
		return fmt.Errorf("resume %s: %w", s.Name(), err)
	}
	return nil
}

// Restart kills s and starts it again, or returns an error wrapping ErrUnsupported.
func Restart(ctx context.Context, s Service) error {
	r, ok := s.(Restarter)
	if !ok {
		return unsupported("restart", s)
	}
	if err := r.Restart(ctx); err != nil {
		return fmt.Errorf("restart %s: %w", s.Name(), err)
	}
	return nil
}

func unsupported(verb string, s Service) error {
	if s == nil {
		return fmt.Errorf("%s: the service is not part of this run: %w", verb, ErrUnsupported)
	}
	return fmt.Errorf("%s %s at %s: %w", verb, s.Name(), s.Addr(), ErrUnsupported)
}
