package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTestdata copies files of checker/testdata into a fresh directory, so that the
// visualizations a check writes land there.
func copyTestdata(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for dst, src := range files {
		b, err := os.ReadFile(filepath.Join("..", "..", "checker", "testdata", src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCmdCheck(t *testing.T) {
	run := copyTestdata(t, map[string]string{
		"history.jsonl": "run/history.jsonl", "ledger.json": "run/ledger.json", "psp-ledger.json": "run/psp-ledger.json"})
	bad := copyTestdata(t, map[string]string{"history.jsonl": "lin/bad-double-sale.jsonl"})
	lost := copyTestdata(t, map[string]string{"history.jsonl": "lin/ok-hold-lost-in-restart.jsonl"})
	// The same ledgers served as the booking system and the processor would.
	ledger, _ := os.ReadFile(filepath.Join(run, "ledger.json"))
	pspLedger, _ := os.ReadFile(filepath.Join(run, "psp-ledger.json"))
	var asked []string
	pspAsked := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/ledger", func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Query().Get("event"))
		w.Write(ledger)
	})
	mux.HandleFunc("GET /ledger", func(w http.ResponseWriter, r *http.Request) { pspAsked++; w.Write(pspLedger) })
	hs := httptest.NewServer(mux)
	defer hs.Close()
	racing := copyTestdata(t, map[string]string{"history.jsonl": "coverage/concurrent-seat-holds.jsonl"})
	unknown := copyTestdata(t, map[string]string{"history.jsonl": "coverage/unknown-checkouts.jsonl"})
	tests := []struct {
		name string
		args []string
		code int // 0: no error
	}{
		{"clean run directory", []string{run}, 0},
		{"flags after the directory", []string{run, "--clock-skew", "10ms", "--grace", "1s"}, 0},
		{"history file with ledgers by flag", []string{filepath.Join(run, "history.jsonl"), "--ledger", filepath.Join(run, "ledger.json"),
			"--psp-ledger", filepath.Join(run, "psp-ledger.json"), "--json"}, 0},
		{"history file with ledgers by URL", []string{filepath.Join(run, "history.jsonl"), "--ledger", hs.URL, "--psp-ledger", hs.URL}, 0},
		{"ledger URL that does not answer", []string{filepath.Join(run, "history.jsonl"), "--ledger", hs.URL + "/nowhere"}, 4},
		{"double sale", []string{"--details", bad}, 1},
		{"double sale, no hold-loss faults", []string{"--hold-loss-faults", "", bad}, 1},
		{"hold lost in a Redis restart, the faults chaos marks as losing holds", []string{lost}, 0},
		{"hold lost in a Redis restart, no hold-loss faults", []string{"--hold-loss-faults", "", lost}, 1},
		{"no argument", nil, 2},
		{"two arguments", []string{run, bad}, 2},
		{"unknown flag", []string{"--frobnicate", run}, 2},
		{"missing history", []string{filepath.Join(run, "nope.jsonl")}, 2},
		{"coverage reached", []string{racing, "--require-coverage", "concurrent_seat_holds=3"}, 0},
		{"coverage short", []string{racing, "--require-coverage", "concurrent_seat_holds=3,expired_mid_checkout=1"}, 5},
		{"coverage short, as JSON", []string{racing, "--json", "--require-coverage", "concurrent_seat_holds=4"}, 5},
		{"a violation wins over a coverage shortfall", []string{bad, "--require-coverage", "expired_mid_checkout=1"}, 1},
		{"unknown hazard required", []string{racing, "--require-coverage", "seats_teleported=1"}, 2},
		{"processor answers lost, the faults chaos marks", []string{unknown, "--require-coverage", "psp_answer_lost=1,unknown_checkout_retried=2"}, 0},
		{"processor answers lost, no payment faults named", []string{unknown, "--payment-faults", "", "--require-coverage", "psp_answer_lost=1"}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append([]string{"check"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("stampede check %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, stdout, stderr)
			}
			if strings.Contains(stderr, "check: check:") {
				t.Errorf("stampede check %v: a doubled prefix in %q", tt.args, stderr)
			}
		})
	}
	if len(asked) == 0 || asked[0] != "e1" || pspAsked != 1 {
		t.Errorf("ledgers asked for events %q and the processor's %d times, want the history's e1 and once", asked, pspAsked)
	}
	if _, err := os.Stat(filepath.Join(bad, "linearizability-D-1-1.html")); err != nil {
		t.Errorf("no visualization in the run directory: %v", err)
	}
}

// TestCheckExitCodes: check's exit statuses through the entry point, one message each and
// never a doubled "check: check:".
func TestCheckExitCodes(t *testing.T) {
	run := copyTestdata(t, map[string]string{
		"history.jsonl": "run/history.jsonl", "ledger.json": "run/ledger.json", "psp-ledger.json": "run/psp-ledger.json"})
	notLedger := filepath.Join(t.TempDir(), "ledger.json")
	if err := os.WriteFile(notLedger, []byte(`{"error":{"code":"event_not_found","message":"no event e1"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fooDir := copyTestdata(t, map[string]string{"history.jsonl": "run/history.jsonl"})
	if err := os.WriteFile(filepath.Join(fooDir, "ledger.json"), []byte(`{"foo":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	crashed := copyTestdata(t, map[string]string{"history.jsonl": "run/history.jsonl", "ledger.json": "run/ledger.json"})
	f, err := os.OpenFile(filepath.Join(crashed, "history.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"client":3,"op":"hold","in":{"event":"e1","sess`)
	f.Close()
	crowded := copyTestdata(t, map[string]string{"history.jsonl": "lin/ok-overlapping-holds.jsonl"})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		args   []string
		code   int
		stdout string // a part of stdout; empty: not checked
		stderr string // a part of stderr; empty: not checked
	}{
		{"pass", nil, []string{run}, 0, "verdict: pass", ""},
		{"an empty directory", nil, []string{t.TempDir()}, 2, "", "has no history.jsonl: give a run directory"},
		{"a ledger that is an error answer", nil, []string{filepath.Join(run, "history.jsonl"), "--ledger", notLedger}, 2, "",
			"ledger " + notLedger + ": not a ledger but an error answer: event_not_found no event e1"},
		{"a ledger.json that is something else", nil, []string{fooDir}, 2, "", "not a ledger: no event_id among its fields (foo)"},
		{"a crashed run's history", nil, []string{crashed}, 2, "", "history ends in an incomplete line after byte"},
		{"a crashed run's history, allowed", nil, []string{crashed, "--allow-truncated"}, 0,
			"warning: the history ends in an incomplete line: checked up to its last complete line", ""},
		{"undecided", nil, []string{crowded, "--timeout", "1ns"}, 4, "unknown", ""},
		{"interrupted", cancelled, []string{run}, 130, "", "interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			code, stdout, stderr := runCLIContext(t, ctx, nil, append([]string{"check"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stampede check %v: exit %d, want %d\nstdout (want %q):\n%s\nstderr (want %q):\n%s",
					tt.args, code, tt.code, tt.stdout, stdout, tt.stderr, stderr)
			}
			if strings.Contains(stderr, "check: check:") || strings.Count(stderr, "stampede check:") > 1 {
				t.Errorf("stampede check %v: stderr %q, want one message without a doubled prefix", tt.args, stderr)
			}
		})
	}
}
