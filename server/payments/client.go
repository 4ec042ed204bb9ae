package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"stampede/internal/admintoken"
)

// Errors the Client returns, by what the caller may conclude. Match them with errors.Is; the
// concrete error is an *Error when the processor answered.
var (
	// ErrDeclined: the payment was declined (402); certainly nothing was charged.
	ErrDeclined = errors.New("payment declined")
	// ErrUnknownOutcome: a 5xx, a timeout, a dropped connection or an unreadable answer. The
	// request may or may not have taken effect; retry with the same idempotency key to find out.
	ErrUnknownOutcome = errors.New("processor outcome unknown")
	// ErrConflict: the idempotency key was used before with a different request (422).
	ErrConflict = errors.New("idempotency key reused with a different request")
	// ErrChargeNotFound: a refund named a charge the processor does not have (404).
	ErrChargeNotFound = errors.New("charge not found")
	// ErrAlreadyRefunded: the charge was refunded before under another key (409).
	ErrAlreadyRefunded = errors.New("charge already refunded")
	// ErrRejected: any other 4xx; the processor certainly did nothing (a bug in the caller).
	ErrRejected = errors.New("processor rejected the request")
)

// Error is an answer of the processor that is not a success. It matches (errors.Is) the sentinel
// for its status: ErrDeclined, ErrConflict, ErrChargeNotFound, ErrAlreadyRefunded, ErrRejected,
// or ErrUnknownOutcome for 5xx.
type Error struct {
	Status  int
	Code    string
	Message string
	kind    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("processor answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the sentinel the status maps to.
func (e *Error) Unwrap() error { return e.kind }

// Client calls a processor over HTTP. It is safe for concurrent use.
type Client struct {
	base    string
	http    *http.Client
	timeout time.Duration
	token   string
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithTimeout bounds every request (default 10s). A request that runs out of time is an
// ErrUnknownOutcome.
func WithTimeout(d time.Duration) ClientOption { return func(c *Client) { c.timeout = d } }

// WithHTTPClient replaces the HTTP client (default: one with its own tuned transport).
func WithHTTPClient(h *http.Client) ClientOption { return func(c *Client) { c.http = h } }

// WithToken is the processor's admin token (internal/admintoken), sent with every request
// (SetFaults and Faults need it when the processor was started with one).
func WithToken(token string) ClientOption { return func(c *Client) { c.token = token } }

// NewClient returns a client for the processor at baseURL (http:// or https://).
func NewClient(baseURL string, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("processor url %q: want http://host:port", baseURL)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 256
	c := &Client{
		base:    strings.TrimRight(baseURL, "/"),
		http:    &http.Client{Transport: tr},
		timeout: 10 * time.Second,
	}
	for _, o := range opts {
		o(c)
	}
	if c.timeout <= 0 {
		return nil, fmt.Errorf("processor timeout %v: must be positive", c.timeout)
	}
	return c, nil
}

// Charge captures req.AmountCents under key. A replay of an earlier request with the same key
// returns the original charge with Replayed set.
func (c *Client) Charge(ctx context.Context, key string, req ChargeRequest) (Charge, error) {
	var out Charge
	status, err := c.do(ctx, http.MethodPost, "/charges", key, req, &out)
	if err != nil {
		return Charge{}, fmt.Errorf("charge %s: %w", key, err)
	}
	out.Replayed = status == http.StatusOK
	return out, nil
}

// Refund gives back the whole of req.ChargeID under key. A replay returns the original refund
// with Replayed set.
func (c *Client) Refund(ctx context.Context, key string, req RefundRequest) (Refund, error) {
	var out Refund
	status, err := c.do(ctx, http.MethodPost, "/refunds", key, req, &out)
	if err != nil {
		return Refund{}, fmt.Errorf("refund %s: %w", key, err)
	}
	out.Replayed = status == http.StatusOK
	return out, nil
}

// Ledger fetches every charge and refund.
func (c *Client) Ledger(ctx context.Context) (Ledger, error) {
	var out Ledger
	if _, err := c.do(ctx, http.MethodGet, "/ledger", "", nil, &out); err != nil {
		return Ledger{}, fmt.Errorf("read processor ledger: %w", err)
	}
	return out, nil
}

// SetFaults switches the processor's failure modes.
func (c *Client) SetFaults(ctx context.Context, f Faults) error {
	if _, err := c.do(ctx, http.MethodPut, "/admin/faults", "", f, nil); err != nil {
		return fmt.Errorf("set processor faults: %w", err)
	}
	return nil
}

// Faults reads the processor's failure modes.
func (c *Client) Faults(ctx context.Context) (Faults, error) {
	var out Faults
	if _, err := c.do(ctx, http.MethodGet, "/admin/faults", "", nil, &out); err != nil {
		return Faults{}, fmt.Errorf("read processor faults: %w", err)
	}
	return out, nil
}

// do sends one request and decodes a 2xx answer into out (when not nil). It returns the status.
func (c *Client) do(ctx context.Context, method, path, key string, in, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	// net/http would silently resend a request carrying an Idempotency-Key on a reused
	// connection that died before the answer. Each attempt must be visible to the caller (and
	// to the fault decisions), so the body is made non-replayable.
	req.GetBody = nil
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	admintoken.Set(req, c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%w: read answer: %w", ErrUnknownOutcome, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return resp.StatusCode, fmt.Errorf("%w: decode answer: %w", ErrUnknownOutcome, err)
			}
		}
		return resp.StatusCode, nil
	}
	e := &Error{Status: resp.StatusCode}
	var env errorEnvelope
	if json.Unmarshal(raw, &env) == nil {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	}
	switch {
	case resp.StatusCode >= 500:
		e.kind = ErrUnknownOutcome
	case resp.StatusCode == http.StatusPaymentRequired:
		e.kind = ErrDeclined
	case resp.StatusCode == http.StatusUnprocessableEntity:
		e.kind = ErrConflict
	case resp.StatusCode == http.StatusNotFound && e.Code == "charge_not_found":
		e.kind = ErrChargeNotFound
	case resp.StatusCode == http.StatusConflict && e.Code == "already_refunded":
		e.kind = ErrAlreadyRefunded
	case resp.StatusCode == http.StatusConflict, resp.StatusCode == http.StatusTooManyRequests:
		// A processor that says "same key still running" or "slow down" did nothing yet, but
		// the request may run later: treat like any other unknown outcome and retry the key.
		e.kind = ErrUnknownOutcome
	default:
		e.kind = ErrRejected
	}
	return resp.StatusCode, e
}
