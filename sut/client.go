package sut

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"stampede/checker"
	"stampede/internal/admintoken"
)

// requestTimeout bounds each admin request: a ledger of a large event takes a while to build.
const requestTimeout = 60 * time.Second

// Server is a client of a booking system's admin endpoints (server/api.yaml): its ledger, the
// settling of open checkouts and its metrics. URL is the system's base URL; a nil HTTP means
// http.DefaultClient; Token is the admin token (sut.Handles.AdminToken) sent with every request,
// empty for none. Each request is bounded by a minute. It is safe for concurrent use.
type Server struct {
	URL   string
	HTTP  *http.Client
	Token string
}

// ErrNoLedger says that a system has no GET /admin/ledger (it answered 404 for the route, 405
// or 501): a booking system need not offer the reference server's admin endpoints.
var ErrNoLedger = errors.New("the system has no /admin/ledger")

// Ledger reads GET /admin/ledger?event= and decodes it with the checker's decoder. It returns
// the answer as it came too. A system without the endpoint gives an error wrapping
// ErrNoLedger; a 404 that is the contract's error for the event (event_not_found) does not.
func (s Server) Ledger(ctx context.Context, event string) (*checker.Ledger, json.RawMessage, error) {
	b, err := call(ctx, s.HTTP, s.Token, http.MethodGet, s.URL+"/admin/ledger?event="+url.QueryEscape(event))
	if se := (*statusError)(nil); errors.As(err, &se) && se.noRoute() {
		err = fmt.Errorf("%w: %w", ErrNoLedger, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("fetch ledger of %s: %w", event, err)
	}
	ls, err := checker.DecodeLedgers(b)
	if err == nil && len(ls) != 1 {
		err = fmt.Errorf("%d ledgers in the answer, want one", len(ls))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("decode ledger of %s: %w", event, err)
	}
	return ls[0], b, nil
}

// Ledgers reads the ledger of each event, in order.
func (s Server) Ledgers(ctx context.Context, events []string) ([]*checker.Ledger, []json.RawMessage, error) {
	var out []*checker.Ledger
	var raws []json.RawMessage
	for _, id := range events {
		l, raw, err := s.Ledger(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, l)
		raws = append(raws, raw)
	}
	return out, raws, nil
}

// Settlement is the answer of POST /admin/checkout/settle.
type Settlement struct {
	// Resumed counts the checkouts this call drove to a booking or a refund.
	Resumed int `json:"resumed"`
	// Open counts the checkouts still unfinished (some may be running).
	Open int `json:"open"`
}

// Settle asks the reference server (an extension of the contract) to resume every unfinished
// checkout whose lease is free or expired, and says how many are still open.
func (s Server) Settle(ctx context.Context) (Settlement, error) {
	var out Settlement
	b, err := call(ctx, s.HTTP, s.Token, http.MethodPost, s.URL+"/admin/checkout/settle")
	if err != nil {
		return out, fmt.Errorf("settle checkouts: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("settle checkouts: decode: %w", err)
	}
	return out, nil
}

// Metrics reads GET /metrics, the Prometheus text exposition.
func (s Server) Metrics(ctx context.Context) ([]byte, error) {
	b, err := call(ctx, s.HTTP, s.Token, http.MethodGet, s.URL+"/metrics")
	if err != nil {
		return nil, fmt.Errorf("fetch metrics: %w", err)
	}
	return b, nil
}

// Shadow reads GET /admin/shadow, the report of the reference server's shadow strategy (an
// extension of the contract, served with serve --shadow), as it came; reports.DecodeShadow
// reads it.
func (s Server) Shadow(ctx context.Context) ([]byte, error) {
	b, err := call(ctx, s.HTTP, s.Token, http.MethodGet, s.URL+"/admin/shadow")
	if err != nil {
		return nil, fmt.Errorf("fetch the shadow report: %w", err)
	}
	return b, nil
}

// Processor is a client of the payment processor (server/payments/psp.yaml). URL is its base
// URL; a nil HTTP means http.DefaultClient; Token is its admin token, empty for none. It is safe
// for concurrent use.
type Processor struct {
	URL   string
	HTTP  *http.Client
	Token string
}

// Ledger reads GET /ledger, the processor's own record of money, and decodes it with the
// checker's decoder. It returns the answer as it came too.
func (p Processor) Ledger(ctx context.Context) (*checker.PSPLedger, json.RawMessage, error) {
	b, err := call(ctx, p.HTTP, p.Token, http.MethodGet, p.URL+"/ledger")
	if err != nil {
		return nil, nil, fmt.Errorf("fetch the processor's ledger: %w", err)
	}
	l, err := checker.DecodePSPLedger(b)
	if err != nil {
		return nil, nil, fmt.Errorf("decode the processor's ledger: %w", err)
	}
	return l, b, nil
}

// ReadLedgers reads the system's ledger of each event and then the processor's: what the
// systems of this package's sub-packages return from Ledgers.
func ReadLedgers(ctx context.Context, s Server, p Processor, events []string) (Ledgers, error) {
	var out Ledgers
	var err error
	if out.Server, out.ServerJSON, err = s.Ledgers(ctx, events); err != nil {
		return Ledgers{}, err
	}
	if out.PSP, out.PSPJSON, err = p.Ledger(ctx); err != nil {
		return Ledgers{}, err
	}
	return out, nil
}

// call sends a body-less request, with the admin token when there is one, and returns the body
// of a 200 answer.
func call(ctx context.Context, c *http.Client, token, method, u string) ([]byte, error) {
	if c == nil {
		c = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	admintoken.Set(req, token)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{method: method, url: u, status: resp.StatusCode, text: resp.Status, body: b[:min(len(b), 300)]}
	}
	return b, nil
}

// statusError is an answer other than 200 OK.
type statusError struct {
	method, url, text string
	status            int
	body              []byte // the first bytes of the answer
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.method, e.url, e.text, strings.TrimSpace(string(e.body)))
}

// noRoute says whether the answer means the endpoint does not exist: 405 or 501, or a 404
// that is not the contract's error about something the request named ({"error": {"code":
// "event_not_found"}}).
func (e *statusError) noRoute() bool {
	switch e.status {
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return true
	case http.StatusNotFound:
		var body struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		return json.Unmarshal(e.body, &body) != nil || body.Error.Code == "" || body.Error.Code == "not_found"
	}
	return false
}
