package server

import (
	"context"
	"net/http"
)

type checkoutState struct{}

func (s *Server) initCheckout() error                   { s.checkout = &checkoutState{}; return nil }
func (s *Server) runCheckout(ctx context.Context) error { <-ctx.Done(); return nil }

// RefundRecord is a refund the server issued, as /admin/ledger shows it.
type RefundRecord struct {
	RefundID    string `json:"refund_id"`
	ChargeID    string `json:"charge_id"`
	HoldID      string `json:"hold_id"`
	AmountCents int64  `json:"amount_cents"`
	Reason      string `json:"reason"`
}

// refunds lists the refunds the server issued for an event's holds.
func (s *Server) refunds(ctx context.Context, eventID string) ([]RefundRecord, error) {
	return nil, nil
}

func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) { notImplemented(w, r) }
