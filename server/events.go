package server

import "net/http"

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request)      { notImplemented(w, r) }
func (s *Server) handleCreateEvent(w http.ResponseWriter, r *http.Request) { notImplemented(w, r) }
func (s *Server) handleListEvents(w http.ResponseWriter, r *http.Request)  { notImplemented(w, r) }
func (s *Server) handleGetEvent(w http.ResponseWriter, r *http.Request)    { notImplemented(w, r) }
func (s *Server) handleSeats(w http.ResponseWriter, r *http.Request)       { notImplemented(w, r) }
func (s *Server) handleHold(w http.ResponseWriter, r *http.Request)        { notImplemented(w, r) }
func (s *Server) handleGetHold(w http.ResponseWriter, r *http.Request)     { notImplemented(w, r) }
func (s *Server) handleRelease(w http.ResponseWriter, r *http.Request)     { notImplemented(w, r) }
func (s *Server) handleGetBooking(w http.ResponseWriter, r *http.Request)  { notImplemented(w, r) }
func (s *Server) handleLedger(w http.ResponseWriter, r *http.Request)      { notImplemented(w, r) }
