package checker

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// visualize writes porcupine's HTML visualization of an explained partition (its history up
// to the culprit, with the longest partial linearizations porcupine found) into OutDir, with
// the run's fault windows and the culprit drawn as annotations. It returns the file's path.
func (lc *linChecker) visualize(ex *explanation) (path string, err error) {
	p := &lc.ix.parts[ex.pid]
	name := "linearizability-" + fileSafe(lc.ix.partName(p)) + ".html"
	path = filepath.Join(lc.opts.OutDir, name)

	info := ex.info
	var notes []porcupine.Annotation
	for _, f := range lc.ix.faults {
		details := fmt.Sprintf("%s from %s to %s", f.Name, fmtNanos(f.Start), fmtNanos(f.End))
		if len(f.Params) > 0 {
			keys := make([]string, 0, len(f.Params))
			for k := range f.Params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				details += fmt.Sprintf(", %s=%s", k, f.Params[k])
			}
		}
		if f.Open {
			details += " (never recovered)"
		}
		notes = append(notes, porcupine.Annotation{
			Tag: "faults", Start: f.Start, End: f.End,
			Description: f.Name, Details: details, BackgroundColor: "#f7d794",
		})
	}
	for i := range ex.culprits {
		c := &ex.culprits[i]
		notes = append(notes, porcupine.Annotation{
			Tag: "checker", Start: c.call, End: c.ret,
			Description: "violation", Details: fmt.Sprintf("record #%d (client %d): %s", c.rec, c.client, ex.message),
			BackgroundColor: "#f8a5a5",
		})
	}
	info.AddAnnotations(notes)

	// porcupine panics when a partial linearization does not replay; that would be a checker
	// bug, and it must not take the whole check down.
	var b bytes.Buffer
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("porcupine: %v", r)
			}
		}()
		err = porcupine.Visualize(ex.model, info, &b)
	}()
	if err != nil {
		return "", fmt.Errorf("visualize seat %s: %w", lc.ix.partName(p), err)
	}
	if err := os.MkdirAll(lc.opts.OutDir, 0o755); err != nil {
		return "", fmt.Errorf("write visualization: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("write visualization: %w", err)
	}
	return path, nil
}

// fileSafe maps a seat name to a file-name fragment.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
