package server

import "net/http"

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) { notImplemented(w, r) }
