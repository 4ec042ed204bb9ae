package server

import (
	"context"
	"net/http"

	"stampede/strategies"
)

type queueState struct{}

func (s *Server) initQueue() error                   { s.queue = &queueState{}; return nil }
func (s *Server) runQueue(ctx context.Context) error { <-ctx.Done(); return nil }

// checkAdmission refuses a hold for an event whose waiting room is on unless token is a valid
// admission token for this session and event.
func (s *Server) checkAdmission(ctx context.Context, ev strategies.Event, session, token string) error {
	return nil
}

func (s *Server) handleJoinQueue(w http.ResponseWriter, r *http.Request)   { notImplemented(w, r) }
func (s *Server) handleQueueStatus(w http.ResponseWriter, r *http.Request) { notImplemented(w, r) }
func (s *Server) handleQueueStream(w http.ResponseWriter, r *http.Request) { notImplemented(w, r) }
