// Package outdir prepares the directory a run writes into (`stampede run --out`, `stampede
// drive --out`), so that a run never mixes its files with an earlier run's: a directory that
// is not empty is refused, unless the caller forces it, and then it is emptied first. Forcing
// empties only a directory that holds a stampede run, so that a mistyped --out cannot wipe a
// directory of something else.
package outdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotEmpty is Prepare's error for a directory that already holds files.
var ErrNotEmpty = errors.New("not empty")

// marks are the files a stampede run writes at the top of its directory or in one level of
// subdirectories (one per strategy and database); a directory with one of them holds a run.
var marks = []string{"summary.json", "drive-summary.json", "history.jsonl", "metrics.jsonl", "server.log"}

// Prepare makes dir ready for a run: it is created when missing, used as it is when empty,
// refused (an error wrapping ErrNotEmpty that names what is there) when it holds files, or,
// with force, emptied first when it holds a stampede run. It never removes dir itself.
func Prepare(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create run directory: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("run directory %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("run directory %s is %w (it holds %s): choose another, or --force to start it clean", dir, ErrNotEmpty, list(entries))
	}
	if !holdsRun(dir, entries) {
		return fmt.Errorf("run directory %s is %w and holds no stampede run (%s): --force empties only a run's directory; remove them yourself",
			dir, ErrNotEmpty, list(entries))
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("start run directory clean: %w", err)
		}
	}
	return nil
}

// holdsRun reports whether a directory has a file of a stampede run at its top or in one of
// its subdirectories.
func holdsRun(dir string, entries []os.DirEntry) bool {
	has := func(d string) bool {
		for _, m := range marks {
			if _, err := os.Stat(filepath.Join(d, m)); err == nil {
				return true
			}
		}
		return false
	}
	if has(dir) {
		return true
	}
	for _, e := range entries {
		if e.IsDir() && has(filepath.Join(dir, e.Name())) {
			return true
		}
	}
	return false
}

// list names a few entries for messages.
func list(entries []os.DirEntry) string {
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 4 {
		names = append(names[:4], fmt.Sprintf("and %d more", len(names)-4))
	}
	return strings.Join(names, ", ")
}
