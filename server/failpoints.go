package server

import (
	"net/http"

	"stampede/internal/failpoint"
	"stampede/server/api"
)

// errNoFailpoints answers the failpoint endpoints of a server built without a failpoint set.
var errNoFailpoints = &api.Error{Status: http.StatusNotFound, Code: api.CodeInvalidRequest, Message: "failpoints are not enabled on this server"}

// handleListFailpoints is GET /admin/failpoints: the armed points with their hit counts
// (a JSON array of failpoint.Status), which a chaos schedule polls.
func (s *Server) handleListFailpoints(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Failpoints == nil {
		writeError(w, r, errNoFailpoints)
		return
	}
	list := s.cfg.Failpoints.List()
	if list == nil {
		list = []failpoint.Status{}
	}
	api.WriteJSON(w, http.StatusOK, list)
}

// handleArmFailpoint is PUT /admin/failpoints/{name} with a failpoint.Action body: 200 with the
// point's status; 400 for an unknown point or an invalid action.
func (s *Server) handleArmFailpoint(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Failpoints == nil {
		writeError(w, r, errNoFailpoints)
		return
	}
	name := r.PathValue("name")
	var a failpoint.Action
	if err := api.DecodeJSON(r, &a); err != nil {
		writeError(w, r, err)
		return
	}
	if err := a.Validate(); err != nil {
		writeError(w, r, api.Invalid("action", "%s", err.Error()))
		return
	}
	if err := s.cfg.Failpoints.Arm(name, a); err != nil {
		writeError(w, r, api.Invalid("name", "%s", err.Error()))
		return
	}
	api.Logger(r.Context()).Info("failpoint armed", "name", name, "action", a.Kind, "from", a.From, "times", a.Times)
	api.WriteJSON(w, http.StatusOK, failpoint.Status{Name: name, Action: a})
}

// handleDisarmFailpoint is DELETE /admin/failpoints/{name}: 204, also for a point not armed.
func (s *Server) handleDisarmFailpoint(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Failpoints == nil {
		writeError(w, r, errNoFailpoints)
		return
	}
	s.cfg.Failpoints.Disarm(r.PathValue("name"))
	w.WriteHeader(http.StatusNoContent)
}
