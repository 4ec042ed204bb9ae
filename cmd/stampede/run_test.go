package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stampede/reports"
)

// targetScenario writes a scenario of one-page browsers for `stampede run --target`, with a
// payment delay the run injects into its own processor.
func targetScenario(t *testing.T, users int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "target.yaml")
	src := "name: target\ninventory: {sections: 1, rows: 1, seats_per_row: 5}\n" +
		"arrivals: {profile: constant, rate: 40/s, users: " + strconv.Itoa(users) + "}\nusers: [{flow: browse, pages: 1}]\nrequest_timeout: 5s\n" +
		"faults:\n  - {at: 100ms, fault: psp-delay, for: 300ms, delay: 10ms}\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunAgainstATarget runs a scenario end to end against a system that is not ours: faults
// appear in the progress as they happen, the run's line carries its verdict, --quiet prints
// nothing but the verdict, and an --out that holds the run is refused unless --force.
func TestRunAgainstATarget(t *testing.T) {
	target := browseTarget(t, true)
	scenario := targetScenario(t, 30)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"run", scenario, "--target", target, "--psp-addr", "127.0.0.1:0", "--out", out}
	code, stdout, stderr := runCLI(t, nil, args...)
	if code != 0 {
		t.Fatalf("stampede run --target exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"fault psp-delay injected\n", "fault psp-delay over after 0.3s\n", "external on external: 0 bookings, 0 refunds; pass\n"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("progress lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(stdout), "PASS: 1 of 1 runs passed") {
		t.Errorf("stdout %q, want the verdict first", stdout)
	}

	code, _, stderr = runCLI(t, nil, args...)
	if code != 2 || !strings.Contains(stderr, "is not empty") {
		t.Errorf("stampede run into its own --out again exited %d (%s), want 2", code, stderr)
	}
	code, stdout, stderr = runCLI(t, nil, append(args, "--force", "--quiet")...)
	if code != 0 || stderr != "" || !strings.Contains(stdout, "PASS") {
		t.Errorf("stampede run --force --quiet exited %d\nstdout:\n%s\nstderr:\n%s\nwant 0, the verdict and nothing on stderr", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, nil, append(args, "--force", "--verbose")...)
	for _, want := range []string{"fault psp-delay (delay=10ms rate=1) injected", "     requests  ", "     CHECK  "} {
		if code != 0 || !strings.Contains(stderr, want) {
			t.Errorf("stampede run --verbose exited %d; its progress lacks %q:\n%s", code, want, stderr)
		}
	}
	if code, _, stderr := runCLI(t, nil, append(args, "--force", "--verbose", "--quiet")...); code != 2 || !strings.Contains(stderr, "choose one") {
		t.Errorf("stampede run --verbose --quiet exited %d (%s), want 2", code, stderr)
	}
}

// TestRunInterrupted: Ctrl-C during a run stops it, marks the summary and the report
// interrupted, exits 130, and leaves no partial line behind.
func TestRunInterrupted(t *testing.T) {
	target := browseTarget(t, true)
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	code, stdout, stderr := runCLIContext(t, ctx, nil, "run", targetScenario(t, 2000), "--target", target, "--psp-addr", "127.0.0.1:0", "--out", out)
	if code != 130 {
		t.Fatalf("an interrupted stampede run exited %d, want 130\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "INTERRUPTED") || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stdout %q, want the verdict to say INTERRUPTED; stderr ends %q, want whole lines", stdout, stderr[max(len(stderr)-40, 0):])
	}
	s, err := reports.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Interrupted || s.Verdict != reports.Fail {
		t.Errorf("summary: interrupted %v, verdict %s; want interrupted and fail", s.Interrupted, s.Verdict)
	}
	if md, _ := os.ReadFile(filepath.Join(out, reports.MarkdownFile)); !strings.Contains(string(md), "**Interrupted**") {
		t.Errorf("report.md does not say the run was interrupted:\n%s", md)
	}
}
