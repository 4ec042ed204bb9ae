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
