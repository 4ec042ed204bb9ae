package workloads

import (
	"context"
	"fmt"
	"regexp"
)

// CreateEvents creates the scenario's events at target (POST /admin/events; an event that
// exists already is fine), as a driver does with Config.CreateEvents. A runner that starts
// several drivers for one herd (shards) creates the events once with it and starts the
// drivers without CreateEvents, so that they do not race to create the same events.
func CreateEvents(ctx context.Context, sc *Scenario, target, adminToken string) error {
	d, err := New(Config{Scenario: sc, Target: target, AdminToken: adminToken})
	if err != nil {
		return err
	}
	return d.createEvents(ctx)
}

// createEvents sends the scenario's events to the target, in order.
func (d *Driver) createEvents(ctx context.Context) error {
	for _, spec := range d.sc.EventSpecs() {
		if err := d.client.createEvent(ctx, spec, d.cfg.AdminToken); err != nil {
			return fmt.Errorf("set up: %w", err)
		}
	}
	return nil
}

// eventPrefixRE is what an event prefix given apart from the scenario file may be: the
// contract's event id characters, short enough that `<prefix>-<n>` stays within its 64.
var eventPrefixRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,48}$`)

// SetEventPrefix sets the prefix of the scenario's event ids (EventIDs), so that a runner can
// keep the events of several runs against one target apart, and every shard of one run on the
// same events.
func (s *Scenario) SetEventPrefix(p string) error {
	if !eventPrefixRE.MatchString(p) {
		return fmt.Errorf("event prefix %q: use 1-48 of A-Z a-z 0-9 . _ -", p)
	}
	s.EventPrefix = p
	return nil
}
