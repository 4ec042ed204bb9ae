package chaos

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"stampede/sut"
)

var (
	netTargetParam = Param{Name: "target", Kind: "string", Default: "db", About: "the link: db, redis or psp"}
	netLatencySpec = Spec{
		Name:   "net-latency",
		About:  "add latency to every packet between the server and a backing service",
		Needs:  "a network proxy in the path (the run puts one there)",
		Window: true,
		Params: []Param{netTargetParam, {Name: "latency", Kind: "duration", Default: "100ms", About: "added each way"},
			{Name: "jitter", Kind: "duration", Default: "0s", About: "each delay varies by up to this much either way, drawn with the run's seed"}},
	}
	netPartitionSpec = Spec{
		Name:   "net-partition",
		About:  "stop all data between the server and a backing service: requests hang, connections stay open",
		Needs:  "a network proxy in the path (the run puts one there)",
		Window: true,
		Params: []Param{netTargetParam},
	}
	netResetSpec = Spec{
		Name:   "net-reset",
		About:  "reset (TCP RST) the connections between the server and a backing service, new ones too, for `for`",
		Needs:  "a network proxy in the path (the run puts one there)",
		Window: true,
		Params: []Param{netTargetParam, {Name: "fraction", Kind: "float", Default: "1",
			About: "fraction of connections cut, chosen with the run's seed (below 1 they are closed at their next data)"}},
	}
)

// netFault applies toxics on a proxy for a window. Every toxic has toxicity 1: toxiproxy's own
// random choices are not seeded, so a fault either hits every connection or, where the run
// wants randomness, decides itself from the run's seed.
type netFault struct{ name string }

func (f netFault) Name() string { return f.name }

func (f netFault) Inject(ctx context.Context, t *Target, p Params) (func(context.Context) error, error) {
	link := p["target"]
	px, ok := t.Proxies[link]
	if !ok || px == nil {
		var have []string
		for k := range t.Proxies {
			have = append(have, k)
		}
		sort.Strings(have)
		return nil, unsupported(f.name, fmt.Sprintf("no network proxy in front of %q (proxied: %s)", link, strings.Join(have, ", ")))
	}
	var toxics []sut.Toxic
	switch f.name {
	case "net-latency":
		ms, jitter := p.Duration("latency").Milliseconds(), p.Duration("jitter").Milliseconds()
		for _, s := range []string{"upstream", "downstream"} {
			tx := sut.Toxic{Name: "stampede-latency-" + s, Type: "latency", Stream: s, Toxicity: 1,
				Attributes: map[string]any{"latency": ms}}
			if jitter > 0 {
				tx.Type = seededLatencyType
				tx.Attributes = map[string]any{"latency": ms, "jitter": jitter, "seed": t.randUint64()}
			}
			toxics = append(toxics, tx)
		}
	case "net-partition":
		for _, s := range []string{"upstream", "downstream"} {
			toxics = append(toxics, sut.Toxic{Name: "stampede-partition-" + s, Type: "timeout", Stream: s, Toxicity: 1,
				Attributes: map[string]any{"timeout": 0}})
		}
	case "net-reset":
		if fr := p.Float("fraction"); fr < 1 {
			toxics = append(toxics, sut.Toxic{Name: "stampede-reset", Type: seededResetType, Stream: "upstream", Toxicity: 1,
				Attributes: map[string]any{"fraction": fr, "seed": t.randUint64()}})
			break
		}
		toxics = append(toxics, sut.Toxic{Name: "stampede-reset", Type: "reset_peer", Stream: "upstream", Toxicity: 1,
			Attributes: map[string]any{"timeout": 0}})
	}
	var added []string
	undo := func(ctx context.Context) error {
		var errs []error
		for _, n := range added {
			errs = append(errs, px.RemoveToxic(ctx, n))
		}
		return errors.Join(errs...)
	}
	for _, tx := range toxics {
		if err := px.AddToxic(ctx, tx); err != nil {
			return nil, errors.Join(fmt.Errorf("%s: %w", f.name, err), undo(ctx))
		}
		added = append(added, tx.Name)
	}
	return undo, nil
}
