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

// TestSkipBound holds the uncontended table to the skip-locked bound: the tool's one-statement
// SKIP LOCKED claim and UPDATE, its ratio to the ceiling, and the verdict on the target only
// when the bound is under it; and the row of skip-locked's holds each in a batch of its own.
func TestSkipBound(t *testing.T) {
	var out strings.Builder
	d := doc{w: &out, data: map[key]*sample{
		{"mysql", "uncontended", "sysbench"}:          {rate: []float64{14000, 12000, 16000}},
		{"mysql", "skip", "sysbench"}:                 {rate: []float64{9000, 8800, 9100}},
		{"postgres", "uncontended", "pgbench"}:        {rate: []float64{5000}},
		{"postgres", "skip", "pgbench"}:               {rate: []float64{4000}},
		{"mysql", "uncontended", "skip-locked"}:       {rate: []float64{3000}},
		{"mysql", "uncontended", "skip-locked-alone"}: {rate: []float64{1400, 1500, 1200}},
	}}
	d.uncontended()
	doc := out.String()
	mysql := doc[strings.Index(doc, "### MariaDB"):]
	for _, want := range []string{
		"| sysbench: SKIP LOCKED claim and UPDATE, no hold row | 9000 | 9000, 8800, 9100 | 1 | 0.64x |",
		"runs at 0.64x of the ceiling",
		"In this run it is below the 0.7x target",
		"| skip-locked, each hold alone | 1400 | 1400, 1500, 1200 |",
	} {
		if !strings.Contains(mysql, want) {
			t.Errorf("the MariaDB table lacks %q:\n%s", want, mysql)
		}
	}
	pg := doc[:strings.Index(doc, "### MariaDB")]
	if !strings.Contains(pg, "runs at 0.80x of the ceiling") || strings.Contains(pg, "below the 0.7x target") {
		t.Errorf("the PostgreSQL bound (0.80x, above the target) is not said as it is:\n%s", pg)
	}
}
