package compare

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"stampede/reports"
)

// Side is one side of a comparison: every summary given for it, with where each came from.
// Each run of each summary is one sample of its strategy x database.
type Side struct {
	// Sources[i] is where Summaries[i] was read from (a path), for messages.
	Sources   []string
	Summaries []*reports.Summary
}

// Runs counts the runs of every summary of s.
func (s *Side) Runs() int {
	n := 0
	for _, sum := range s.Summaries {
		n += len(sum.Runs)
	}
	return n
}

// ErrNoSummary is returned, wrapped, when a path names nothing with a summary in it.
var ErrNoSummary = errors.New("no summary")

// Load reads one side of a comparison from paths. Each path is a summary.json (under any
// name), a run directory holding one, a directory of run directories (each holding one), a
// glob pattern matching any of those, or several of these separated by commas. A path that
// does not exist, or holds no summary, is an error: a missing baseline is never a pass.
func Load(paths ...string) (*Side, error) {
	side := &Side{}
	for _, arg := range paths {
		for _, p := range strings.Split(arg, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			files, err := summaryFiles(p)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				s, err := reports.LoadFile(f)
				if err != nil {
					return nil, err
				}
				side.Sources = append(side.Sources, f)
				side.Summaries = append(side.Summaries, s)
			}
		}
	}
	if len(side.Summaries) == 0 {
		return nil, fmt.Errorf("%w: no path given", ErrNoSummary)
	}
	return side, nil
}

// summaryFiles resolves one path into the summary files it names.
func summaryFiles(p string) ([]string, error) {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) && strings.ContainsAny(p, "*?[") {
		matches, gerr := filepath.Glob(p)
		if gerr != nil {
			return nil, fmt.Errorf("%s: %w", p, gerr)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%w: nothing matches %s", ErrNoSummary, p)
		}
		var out []string
		for _, m := range matches {
			files, err := summaryFiles(m)
			if err != nil {
				return nil, err
			}
			out = append(out, files...)
		}
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSummary, err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	if f := filepath.Join(p, reports.SummaryFile); isFile(f) {
		return []string{f}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	var out []string
	for _, e := range entries {
		if f := filepath.Join(p, e.Name(), reports.SummaryFile); e.IsDir() && isFile(f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w in %s: it has no %s, nor run directories with one", ErrNoSummary, p, reports.SummaryFile)
	}
	sort.Strings(out)
	return out, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
