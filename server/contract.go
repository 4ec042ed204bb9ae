package server

import (
	_ "embed"
	"net/http"
	"strconv"
)

// contract is the booking contract this server implements, embedded from api.yaml: the file in
// the repository is the truth, and GET /api.yaml serves exactly it.
//
//go:embed api.yaml
var contract []byte

// handleContract is GET /api.yaml: the OpenAPI document of the booking contract.
func (s *Server) handleContract(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Length", strconv.Itoa(len(contract)))
	_, _ = w.Write(contract)
}
