package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeptSections holds perfdoc to carrying over what make bench-checker records in
// docs/performance.md, and to refusing a section left open.
func TestKeptSections(t *testing.T) {
	dir := t.TempDir()
	doc, open := filepath.Join(dir, "doc.md"), filepath.Join(dir, "open.md")
	for p, text := range map[string]string{
		doc:  "# generated\n\n| a | b |\n\n<!-- kept: checker -->\n## The checker\n\n50 s\n<!-- /kept -->\n\nmore generated\n",
		open: "x\n<!-- kept: checker -->\n## The checker\n",
	} {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := keptSections(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := "<!-- kept: checker -->\n## The checker\n\n50 s\n<!-- /kept -->\n"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("kept sections %q, want [%q]", got, want)
	}
	if got, err := keptSections(filepath.Join(dir, "missing.md")); err != nil || got != nil {
		t.Fatalf("a missing document: %q, %v; want none and no error", got, err)
	}
	if _, err := keptSections(open); err == nil || !strings.Contains(err.Error(), "open.md:2") {
		t.Fatalf("an open section: %v, want an error naming line 2", err)
	}
}

// TestHTTPReachable holds the HTTP table to its reachable ratio: HTTP alone / (HTTP alone +
// direct), from the medians of the rounds, and to leaving it blank without a floor.
func TestHTTPReachable(t *testing.T) {
	var out strings.Builder
	d := doc{w: &out, data: map[key]*sample{
		{"postgres", "http", "floor"}:                {rate: []float64{29000, 30000, 41000}},
		{"postgres", "uncontended", "status-expiry"}: {rate: []float64{10000, 9000, 12000}},
		{"postgres", "http", "status-expiry"}:        {rate: []float64{6000, 7000, 8000}},
		{"mysql", "uncontended", "status-expiry"}:    {rate: []float64{4000}},
		{"mysql", "http", "status-expiry"}:           {rate: []float64{3500}},
	}}
	d.http()
	doc := out.String()
	for _, want := range []string{
		"| status-expiry | PostgreSQL | 7000 | 10000 | 0.70x | 0.75x | ≥ 0.8x: **not met** |",
		"| status-expiry | MariaDB/MySQL | 3500 | 4000 | 0.88x |  | ≥ 0.8x: met |",
		"HTTP alone, PostgreSQL run: 30000 requests/s (rounds 29000, 30000, 41000)",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the HTTP table lacks %q:\n%s", want, doc)
		}
	}
}
