package server

import "net/http"

func (s *Server) handleJoinQueue(w http.ResponseWriter, r *http.Request)   { notImplemented(w, r) }
func (s *Server) handleQueueStatus(w http.ResponseWriter, r *http.Request) { notImplemented(w, r) }
func (s *Server) handleQueueStream(w http.ResponseWriter, r *http.Request) { notImplemented(w, r) }
