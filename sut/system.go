package sut

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"stampede/checker"
)

// System is a booking system under test for one run (Jepsen's db): the reference server that
// a run starts (package sut/reference) or a system that runs elsewhere (package sut/external),
// each with stampede's payment processor beside it, so that money is reconciled for both.
//
// Start, then drive the URL with the herd and hand Handles to the fault schedule; afterwards
// Settle, read the Ledgers and Stop. Optional capabilities are found by type assertion: a
// System that can restart its server is a Restarter.
type System interface {
	// Start brings the system up and returns once it accepts requests. A Start that fails
	// has stopped what it had started.
	Start(ctx context.Context) error
	// Stop tears down what Start started. It is safe to call more than once and after a failed
	// Start.
	Stop(ctx context.Context) error
	// URL is the base URL of the booking API (server/api.yaml) the driver sends the herd to.
	URL() string
	// PSP is the base URL of the payment processor the system pays through
	// (server/payments/psp.yaml), reached directly, not through any proxy in the server's path.
	PSP() string
	// Handles are what faults act on; a handle the system does not have is nil or empty.
	Handles() Handles
	// Settle finishes what the run left open (checkouts whose client gave up or whose server
	// crashed mid-payment) and waits until nothing is, so that the ledgers are compared on
	// settled accounts. It returns an error wrapping ErrUnsettled when it stopped waiting with
	// work still open (the ledgers can still be read), and another error when the system
	// cannot be settled at all (the server died and was not started again).
	Settle(ctx context.Context) error
	// Ledgers reads the system's ledger of each event and the processor's ledger.
	Ledgers(ctx context.Context, events []string) (Ledgers, error)
}

// Handles are the parts of a system under test that faults act on (chaos.Target embeds them).
// A nil or empty handle means the run does not have it, and the faults that need it return
// ErrUnsupported saying what is missing.
type Handles struct {
	// Server is the base URL of the reference server's admin endpoints (failpoints,
	// pool-exhaustion); empty for a system that is not ours.
	Server string
	// ServerProcess is the reference server's process when the run started it (server-crash).
	ServerProcess Service
	// PSP is the payment processor's base URL (psp-* faults).
	PSP string
	// DB is the database the server uses, a postgres:// URL or mysql:// DSN (db-conn-kill).
	DB string
	// Redis is the Redis the server uses (redis-restart and redis-pause need a Redis process
	// the run started: a Restarter and Pauser).
	Redis Service
	// RedisURL reaches that Redis over the network (redis-flush).
	RedisURL string
	// Proxies are the network proxies in the server's path, by link: "db", "redis", "psp".
	Proxies map[string]Proxy
	// AdminToken is the bearer token the server's and the processor's /admin/* endpoints
	// require (internal/admintoken): every admin client of the run sends it. Empty when they
	// are open. It is a secret: never written to a report or a log.
	AdminToken string
}

// Ledgers are the two accounts a run is judged on: what the booking system believes (one
// ledger per event) and what the payment processor did.
type Ledgers struct {
	// Server holds the system's GET /admin/ledger of each event, in the order asked for.
	Server []*checker.Ledger
	// ServerJSON holds the same answers as they came, for the run directory's ledger.json
	// (fields of a system that extends the contract are kept).
	ServerJSON []json.RawMessage
	// PSP is the processor's GET /ledger, and PSPJSON the answer as it came.
	PSP     *checker.PSPLedger
	PSPJSON json.RawMessage
}

// WriteDir writes the ledgers into a run directory as `stampede check DIR` reads them: the
// system's answers as one JSON array in checker.LedgerFile, and the processor's answer, when
// there is one, in checker.PSPLedgerFile.
func (l Ledgers) WriteDir(dir string) error {
	b, err := json.MarshalIndent(l.ServerJSON, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", checker.LedgerFile, err)
	}
	if err := os.WriteFile(filepath.Join(dir, checker.LedgerFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", checker.LedgerFile, err)
	}
	if l.PSPJSON == nil {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, checker.PSPLedgerFile), append(bytes.TrimSpace(l.PSPJSON), '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", checker.PSPLedgerFile, err)
	}
	return nil
}
