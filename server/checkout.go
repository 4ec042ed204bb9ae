package server

import "net/http"

func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) { notImplemented(w, r) }
