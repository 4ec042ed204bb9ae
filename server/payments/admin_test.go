package payments

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAdminFaultsLocked: a processor started with an admin token refuses PUT and GET
// /admin/faults (401 unauthorized, nothing changed) without it, and a client given the token
// switches the faults; charges, refunds and the ledger need no token.
func TestAdminFaultsLocked(t *testing.T) {
	const token = "psp-admin-token-psp-admin-token"
	p := New(WithAdminToken(token))
	srv := httptest.NewServer(p)
	t.Cleanup(func() { p.Close(); srv.Close() })
	ctx := context.Background()

	anon, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var pe *Error
	err = anon.SetFaults(ctx, Faults{ErrorRate: 1})
	if !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized || pe.Code != "unauthorized" {
		t.Fatalf("SetFaults without token = %v, want 401 unauthorized", err)
	}
	if _, err := anon.Faults(ctx); !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized {
		t.Fatalf("Faults without token = %v, want 401", err)
	}
	wrong, _ := NewClient(srv.URL, WithToken(strings.ToUpper(token)))
	if err := wrong.SetFaults(ctx, Faults{ErrorRate: 1}); !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized {
		t.Fatalf("SetFaults with a wrong token = %v, want 401", err)
	}
	if f := p.Faults(); f.ErrorRate != 0 {
		t.Fatalf("faults after refused requests = %+v, want none set", f)
	}
	// The buyers' side of the processor is not locked.
	if _, err := anon.Charge(ctx, "k1", ChargeRequest{AmountCents: 100, Reference: "h1"}); err != nil {
		t.Fatalf("Charge without token: %v", err)
	}
	if _, err := anon.Ledger(ctx); err != nil {
		t.Fatalf("Ledger without token: %v", err)
	}
	admin, _ := NewClient(srv.URL, WithToken(token))
	if err := admin.SetFaults(ctx, Faults{ErrorRate: 0.5}); err != nil {
		t.Fatalf("SetFaults with the token: %v", err)
	}
	if f, err := admin.Faults(ctx); err != nil || f.ErrorRate != 0.5 {
		t.Fatalf("Faults with the token = %+v, %v; want error_rate 0.5", f, err)
	}
}
