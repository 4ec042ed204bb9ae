package server

import (
	"crypto/rand"
	"fmt"
	"net/http"

	"stampede/server/api"
	"stampede/server/overload"
	"stampede/server/tickets"
)

// ticketKeys are the keys from seed, or from a random seed when there is none.
func ticketKeys(seed []byte) (*tickets.Keys, error) {
	if seed == nil {
		seed = make([]byte, 32)
		_, _ = rand.Read(seed)
	}
	k, err := tickets.NewKeys(seed)
	if err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	return k, nil
}

// initTickets builds the gate (server/tickets): the scans of genuine tickets run under the
// overload budget as checkouts do, forgeries are refused before it.
func (s *Server) initTickets(deps api.Deps) error {
	gate, err := tickets.NewGate(s.cfg.Gate, s.store, s.cfg.AllowUnsafeGate)
	if err != nil {
		return fmt.Errorf("new server: %w", err)
	}
	s.tickets, err = tickets.New(tickets.Config{
		Deps: deps, Keys: s.keys, Gate: gate, Store: s.store,
		Admission: func(h http.Handler) http.Handler { return s.budget.Wrap(overload.Checkout, h) },
	})
	return err
}
