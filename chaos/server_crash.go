package chaos

import (
	"context"
	"fmt"

	"stampede/sut"
)

var serverCrashSpec = Spec{
	Name: "server-crash",
	About: "kill -9 the reference server mid-flow and start it again; clients retry with their idempotency keys " +
		"(with `when: {failpoint: NAME, hit: N}` the server kills itself at exactly that point)",
	Needs:   "the reference server's process, started by the run",
	Crashes: true,
}

type serverCrash struct{}

func (serverCrash) Name() string { return serverCrashSpec.Name }

func (serverCrash) Inject(ctx context.Context, t *Target, _ Params) (func(context.Context) error, error) {
	r, ok := t.ServerProcess.(sut.Restarter)
	if !ok {
		return nil, unsupported("server-crash", "the run did not start the server (--target)")
	}
	// The server is down from the kill on (or already, killed at its failpoint): bring it back
	// even when the run ends meanwhile (the herd done, ctx cancelled). A restart cut short there
	// killed the new process while it was getting ready and left the run without a server to
	// read its ledger from. Start bounds its own wait for readiness.
	ctx = context.WithoutCancel(ctx)
	done, err := t.exclusive(ctx, t.ServerProcess)
	if err != nil {
		return nil, fmt.Errorf("server-crash: %w", err)
	}
	defer done()
	if err := r.Restart(ctx); err != nil {
		return nil, fmt.Errorf("server-crash: %w", err)
	}
	return nil, nil
}
