package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

var poolExhaustionSpec = Spec{
	Name: "pool-exhaustion",
	About: "transactions tagged /* conn_tag:chaos */ take connections from the server's own pool and hold " +
		"them for `for`, so requests wait for a connection (pool wait climbs)",
	Needs:  "the reference server's admin endpoint",
	Window: true,
	Params: []Param{{Name: "conns", Kind: "int", Default: "0", About: "connections to hog; 0 means the whole pool but one"}},
}

type poolExhaustion struct{}

func (poolExhaustion) Name() string { return poolExhaustionSpec.Name }

// Inject asks the server (PUT /admin/pool-hog) to hold conns of its pooled connections in
// idle transactions; recover releases them (DELETE /admin/pool-hog). Hogging from inside is
// what starves the pool: connections opened from outside would only exhaust the database.
func (poolExhaustion) Inject(ctx context.Context, t *Target, p Params) (func(context.Context) error, error) {
	if t.Server == "" {
		return nil, unsupported("pool-exhaustion", "no reference server admin endpoint (a target that is not ours)")
	}
	body, _ := json.Marshal(map[string]int{"conns": p.Int("conns")})
	if err := t.put(ctx, t.Server+"/admin/pool-hog", body); err != nil {
		return nil, fmt.Errorf("pool-exhaustion: %w", err)
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, t.Server+"/admin/pool-hog", nil)
		if err != nil {
			return err
		}
		resp, err := t.do(req)
		if err != nil {
			return fmt.Errorf("pool-exhaustion: recover: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("pool-exhaustion: recover: %s", resp.Status)
		}
		return nil
	}, nil
}
