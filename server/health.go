package server

import (
	"context"
	"net/http"
	"time"

	"stampede/server/api"
)

// healthTimeout bounds each dependency check of /healthz.
const healthTimeout = 2 * time.Second

// health is the body of a 200 /healthz, and the checks of a 503 one.
type health struct {
	Status   string            `json:"status"`
	Strategy string            `json:"strategy"`
	Checks   map[string]string `json:"checks"`
}

// handleHealth is GET /healthz: 200 when the database (and Redis, when configured) answer
// within healthTimeout each, 503 unavailable naming what did not. The failures' details are
// logged, not sent.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	checks := map[string]string{}
	var failed []string

	dctx, cancel := context.WithTimeout(ctx, healthTimeout)
	var one int
	err := s.cfg.DB.QueryRow(dctx, "health", "SELECT 1", []any{&one})
	cancel()
	if err != nil {
		checks["database"] = "unreachable"
		failed = append(failed, "database")
		api.Logger(ctx).Warn("health: database", "err", err)
	} else {
		checks["database"] = "ok"
	}
	if s.cfg.Redis != nil {
		rctx, cancel := context.WithTimeout(ctx, healthTimeout)
		err := s.cfg.Redis.Ping(rctx).Err()
		cancel()
		if err != nil {
			checks["redis"] = "unreachable"
			failed = append(failed, "redis")
			api.Logger(ctx).Warn("health: redis", "err", err)
		} else {
			checks["redis"] = "ok"
		}
	}
	if len(failed) > 0 {
		msg := "not ready: " + failed[0]
		if len(failed) > 1 {
			msg += " and " + failed[1]
		}
		msg += " unreachable"
		api.WriteJSON(w, http.StatusServiceUnavailable, struct {
			Error  *api.Error        `json:"error"`
			Checks map[string]string `json:"checks"`
		}{&api.Error{Code: api.CodeUnavailable, Message: msg}, checks})
		return
	}
	api.WriteJSON(w, http.StatusOK, health{Status: "ok", Strategy: s.strategy.Name(), Checks: checks})
}
