package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// ErrSchema is returned, wrapped, for a summary written in a schema this stampede does not
// read (another major version, or not a stampede summary at all).
var ErrSchema = errors.New("unsupported summary schema")

// LoadFile reads the summary at path, a summary.json under any name, and checks its schema.
func LoadFile(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if s.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: %w %q: this stampede reads %q", path, ErrSchema, s.Schema, SchemaVersion)
	}
	return &s, nil
}
