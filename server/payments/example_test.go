package payments_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"stampede/server/payments"
)

// A charge retried with the same idempotency key is charged once, even when the first answer
// was lost on the way back.
func Example() {
	p := payments.New(payments.WithSeed(1))
	srv := httptest.NewServer(p)
	defer srv.Close()
	defer p.Close()
	c, _ := payments.NewClient(srv.URL)
	ctx := context.Background()

	_ = p.SetFaults(payments.Faults{LostResponseRate: 1})
	_, err := c.Charge(ctx, "order-42", payments.ChargeRequest{AmountCents: 5000, Reference: "h_1"})
	fmt.Println("first attempt unknown:", errors.Is(err, payments.ErrUnknownOutcome))

	_ = p.SetFaults(payments.Faults{})
	ch, _ := c.Charge(ctx, "order-42", payments.ChargeRequest{AmountCents: 5000, Reference: "h_1"})
	fmt.Println("retry replayed:", ch.Replayed, ch.AmountCents)

	captured, _, _ := p.Ledger().Totals()
	fmt.Println("captured:", captured)
	// Output:
	// first attempt unknown: true
	// retry replayed: true 5000
	// captured: 5000
}
