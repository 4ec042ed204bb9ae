package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Files are the names Write produces in a run directory.
const (
	SummaryFile  = "summary.json"
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	JUnitFile    = "junit.xml"
	MetricsFile  = "metrics.csv"
	LatencyFile  = "latency.csv"
)

// Write renders every report of s into dir: summary.json, report.md, junit.xml, report.html,
// and the per-second metrics and the latencies as metrics.csv and latency.csv. Each file is
// written to a temporary name and renamed into place, so a failure never leaves a
// half-written report behind.
func Write(dir string, s *Summary) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report dir: %w", err)
	}
	sum, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	var md, junit, html, metrics, latency bytes.Buffer
	if err := Markdown(&md, s); err != nil {
		return err
	}
	if err := JUnit(&junit, s); err != nil {
		return err
	}
	if err := HTML(&html, s); err != nil {
		return err
	}
	if err := MetricsCSV(&metrics, s); err != nil {
		return err
	}
	if err := LatencyCSV(&latency, s); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{SummaryFile, append(sum, '\n')},
		{MarkdownFile, md.Bytes()},
		{JUnitFile, junit.Bytes()},
		{HTMLFile, html.Bytes()},
		{MetricsFile, metrics.Bytes()},
		{LatencyFile, latency.Bytes()},
	} {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
