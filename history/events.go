package history

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Events returns the events that the client operations of the history file at path name, each
// once, in the order they first appear: the events whose ledgers judge the run. A last line
// cut short (CompleteLength) is left out.
func Events(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	n, err := CompleteLength(f, st.Size())
	if err != nil {
		return nil, err
	}
	r := NewReader(io.LimitReader(f, n))
	seen := map[string]bool{}
	var out []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if ev := rec.In.Event; ev != "" && !seen[ev] {
			seen[ev] = true
			out = append(out, ev)
		}
	}
}
