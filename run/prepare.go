package run

import (
	"context"

	"stampede/infra"
)

// Resolve returns o with the defaults Run would apply: the scenario, the strategies, the
// databases (postgres, plus mysql when there is one to use) and the executable. It starts
// nothing, so a caller that runs many scenarios (a capacity search) can check its whole plan
// before anything is written.
func Resolve(o Options) (Options, error) {
	if err := o.defaults(); err != nil {
		return o, err
	}
	if o.Target == "" && len(o.DBs) == 0 {
		o.DBs = defaultDBs(o)
	}
	return o, nil
}

// StartServices brings up what the resolved o needs, as Run does for itself: local processes
// or the external endpoints; nil with a Target (a system that is not ours needs none). Put
// them in Options.Services to share them between runs; the caller closes them.
func StartServices(ctx context.Context, o Options) (*infra.Services, error) {
	if o.Target != "" {
		return nil, nil
	}
	return services(ctx, o)
}
