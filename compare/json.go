package compare

import (
	"encoding/json"
	"fmt"
	"io"
)

// JSON writes r as indented JSON (see Result's field tags).
func (r *Result) JSON(w io.Writer) error { return writeJSON(w, r) }

// JSON writes g as indented JSON: the verdict, the tolerances, the correctness failures, a
// finding for every metric and the comparison.
func (g *GateResult) JSON(w io.Writer) error { return writeJSON(w, g) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}
