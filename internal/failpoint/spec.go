package failpoint

import (
	"fmt"
	"strings"
	"time"
)

// ParseSpec parses points armed from a process's start, as `stampede serve --failpoints`
// takes them: a comma-separated list of NAME=ACTION, where ACTION is count, error, crash or
// delay:DURATION (`after-hold=delay:20ms` answers every hold 20 ms late). Block is not
// offered: nothing would release it. The empty spec arms nothing.
func ParseSpec(spec string) (map[string]Action, error) {
	out := map[string]Action{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, act, ok := strings.Cut(item, "=")
		name, act = strings.TrimSpace(name), strings.TrimSpace(act)
		if !ok || name == "" || act == "" {
			return nil, fmt.Errorf("failpoint %q: want NAME=ACTION, such as after-hold=delay:20ms", item)
		}
		if !known(name) {
			return nil, fmt.Errorf("failpoint %q: unknown; known: %s", name, strings.Join(Known, ", "))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("failpoint %q: given twice", name)
		}
		a := Action{Kind: act}
		if d, ok := strings.CutPrefix(act, Delay+":"); ok {
			v, err := time.ParseDuration(d)
			if err != nil {
				return nil, fmt.Errorf("failpoint %s: delay %q: want a duration such as 20ms", name, d)
			}
			a = Action{Kind: Delay, Delay: v}
		}
		switch a.Kind {
		case Count, Error, Crash, Delay:
		default:
			return nil, fmt.Errorf("failpoint %s: action %q: want count, error, crash or delay:DURATION", name, act)
		}
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("failpoint %s: %w", name, err)
		}
		out[name] = a
	}
	return out, nil
}
