package reports

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// shadowSample is the shadow report a reference server answers, as the run fetches it.
const shadowSample = `{"primary":"status-expiry","shadow":"status-expiry-blind","replayed":120,"skipped":3,"dropped":0,"pending":0,
"divergences":2,"kinds":[{"kind":"confirm_sold","about":"the shadow sold a hold (its seats) the primary did not","count":2,
"examples":[{"kind":"confirm_sold","op":"confirm","event_id":"ev1","seats":["A-1-7"],"at":"2026-12-02T06:00:01.5Z","primary":"hold_expired","shadow":"ok","primary_hold":"h9"}]}],
"latency":[{"op":"hold","primary":{"count":80,"p50_ms":1.5,"p90_ms":2,"p99_ms":4.25,"max_ms":9},"shadow":{"count":80,"p50_ms":1.25,"p90_ms":2,"p99_ms":3.5,"max_ms":7}}]}`

// TestShadowInEveryReport: a run's shadow report, decoded from the server's answer, survives
// summary.json and is in report.md, report.html and junit.xml with its divergence counts, the
// seats of its examples and both strategies' latency.
func TestShadowInEveryReport(t *testing.T) {
	sh, err := DecodeShadow([]byte(shadowSample))
	if err != nil {
		t.Fatalf("DecodeShadow: %v", err)
	}
	if sh.Divergences != 2 || sh.Kinds[0].Examples[0].Seats[0] != "A-1-7" || sh.Latency[0].Shadow.P99 != 3.5 {
		t.Fatalf("DecodeShadow = %+v", sh)
	}
	s := sample()
	s.Runs[0].Shadow = sh
	dir := t.TempDir()
	if err := Write(dir, s); err != nil {
		t.Fatalf("Write: %v", err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(back.Runs[0].Shadow, sh) {
		t.Errorf("summary.json shadow = %+v, want %+v", back.Runs[0].Shadow, sh)
	}
	for file, wants := range map[string][]string{
		MarkdownFile: {"**Shadow**: shadow status-expiry-blind beside status-expiry: 2 divergences in 120 replayed operations, 3 not compared.",
			"| confirm_sold | 2 |", "confirm ev1 A-1-7 at 06:00:01.500: hold_expired / ok", "| hold | 80 | 1.5 ms | 4.2 ms | 1.2 ms | 3.5 ms |"},
		HTMLFile:  {"Shadow: status-expiry-blind beside status-expiry", "<td>confirm_sold</td><td class=\"num\">2</td>", "confirm ev1 A-1-7 at 06:00:01.500: hold_expired / ok", "4.25 ms", "3.5 ms"},
		JUnitFile: {`name="shadow status-expiry-blind"`, "confirm_sold: 2", "confirm ev1 A-1-7 at 2026-12-02T06:00:01.5Z: primary hold_expired, shadow ok", "hold p99: status-expiry 4.2 ms, status-expiry-blind 3.5 ms"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", file, want)
			}
		}
	}
	if _, err := DecodeShadow([]byte(`{"error":{"code":"invalid_request"}}`)); err == nil {
		t.Errorf("DecodeShadow of an error answer = nil error, want one")
	}
}
