package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDrivePlanIsDeterministic(t *testing.T) {
	scenario := filepath.Join("..", "..", "scenarios", "quickstart.yaml")
	_, a, _ := runCLI(t, nil, "drive", "plan", scenario, "--users", "50", "--seed", "9")
	_, b, _ := runCLI(t, nil, "drive", "plan", "--seed", "9", "--users", "50", scenario)
	if a != b {
		t.Fatal("two plans with seed 9 differ")
	}
	lines := strings.Split(strings.TrimSpace(a), "\n")
	if len(lines) != 50 {
		t.Fatalf("plan has %d users, want 50", len(lines))
	}
	var u struct {
		Index int    `json:"index"`
		Flow  string `json:"flow"`
	}
	if err := json.Unmarshal([]byte(lines[49]), &u); err != nil || u.Index != 49 || u.Flow == "" {
		t.Errorf("last plan line %q: %+v, %v", lines[49], u, err)
	}
	code, shard, _ := runCLI(t, nil, "drive", "plan", scenario, "--users", "3", "--shard", "1/4")
	if code != 0 || !strings.HasPrefix(shard, `{"index":1,`) {
		t.Errorf("shard 1/4 plan (exit %d) starts %q, want user 1", code, shard[:min(len(shard), 20)])
	}
	// The environment gives a flag of drive plan, the command line wins.
	_, fromEnv, _ := runCLI(t, map[string]string{"STAMPEDE_DRIVE_PLAN_USERS": "2", "STAMPEDE_SEED": "9"}, "drive", "plan", scenario)
	if got := strings.Count(fromEnv, "\n"); got != 2 || !strings.HasPrefix(a, fromEnv) {
		t.Errorf("drive plan with STAMPEDE_DRIVE_PLAN_USERS=2 STAMPEDE_SEED=9 printed %d users, want the first 2 of seed 9's", got)
	}
	_, flagWins, _ := runCLI(t, map[string]string{"STAMPEDE_DRIVE_PLAN_USERS": "2"}, "drive", "plan", scenario, "--users", "4")
	if got := strings.Count(flagWins, "\n"); got != 4 {
		t.Errorf("drive plan --users 4 with STAMPEDE_DRIVE_PLAN_USERS=2 printed %d users, want 4", got)
	}
}

func TestDriveMergeNeedsInputs(t *testing.T) {
	if code, _, stderr := runCLI(t, nil, "drive", "merge", "--out", filepath.Join(t.TempDir(), "m.jsonl")); code != 2 {
		t.Errorf("merge without histories exited %d (%s), want 2", code, stderr)
	}
}

// browseScenario writes a small scenario of one-page browsers.
func browseScenario(t *testing.T, slo string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "browse.yaml")
	src := "name: browse\ninventory: {sections: 1, rows: 1, seats_per_row: 5}\n" +
		"arrivals: {profile: constant, rate: 40/s, users: 20}\nusers: [{flow: browse, pages: 1}]\nrequest_timeout: 5s\n" + slo
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// browseTarget answers every request with an empty JSON object; with ledger, also GET
// /admin/ledger with an empty ledger of the event asked for.
func browseTarget(t *testing.T, ledger bool) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	})
	if ledger {
		mux.HandleFunc("GET /admin/ledger", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"event_id":"` + r.URL.Query().Get("event") + `","bookings":[]}`))
		})
	} else {
		mux.HandleFunc("GET /admin/ledger", http.NotFound)
	}
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestDrive: drive saves the ledgers when the target has /admin/ledger and says so when it has
// not, refuses an --out that holds an earlier run unless --force, gives up on a dead target
// with exit 4, and an SLO without data is not met.
func TestDrive(t *testing.T) {
	scenario := browseScenario(t, "")
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, nil, "drive", scenario, "--target", browseTarget(t, true), "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("drive exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "ledger.json")); err != nil {
		t.Errorf("drive against a target with /admin/ledger saved no ledger: %v", err)
	}
	if stderr != "" || strings.Contains(stdout, "requests") {
		t.Errorf("drive --quiet printed progress or the summary:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}

	prefixed := t.TempDir()
	code, _, stderr = runCLI(t, nil, "drive", scenario, "--target", browseTarget(t, true), "--out", prefixed, "--quiet", "--event-prefix", "run7-shard")
	if ledger, _ := os.ReadFile(filepath.Join(prefixed, "ledger.json")); code != 0 || !strings.Contains(string(ledger), `"run7-shard-1"`) {
		t.Errorf("drive --event-prefix run7-shard exited %d, ledger %s; want the ledger of event run7-shard-1\n%s", code, ledger, stderr)
	}

	code, stdout, _ = runCLI(t, nil, "drive", scenario, "--target", browseTarget(t, true), "--out", t.TempDir(), "--verbose")
	if code != 0 || !strings.Contains(stdout, "answers browse   ok 20, info 0\n") {
		t.Errorf("drive --verbose exited %d, want the answers by code after the summary:\n%s", code, stdout)
	}

	code, _, stderr = runCLI(t, nil, "drive", scenario, "--target", browseTarget(t, false), "--out", out)
	if code != 2 || !strings.Contains(stderr, "is not empty") || !strings.Contains(stderr, "--force") {
		t.Errorf("drive into an earlier run's --out exited %d, want 2 saying it is not empty and how to force it:\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, nil, "drive", scenario, "--target", browseTarget(t, false), "--out", out, "--force")
	if code != 0 || !strings.Contains(stderr, "the target has no /admin/ledger") {
		t.Errorf("drive --force against a target without a ledger exited %d, want 0 and a note:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "ledger.json")); !os.IsNotExist(err) {
		t.Errorf("--force left the earlier run's ledger.json beside the new history (%v)", err)
	}
	code, _, stderr = runCLI(t, nil, "drive", scenario, "--target", browseTarget(t, false), "--out", t.TempDir(), "--ledgers")
	if code != 4 || !strings.Contains(stderr, "has no /admin/ledger") {
		t.Errorf("drive --ledgers against a target without a ledger exited %d, want 4:\n%s", code, stderr)
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	long := filepath.Join(t.TempDir(), "long.yaml")
	src, _ := os.ReadFile(scenario)
	os.WriteFile(long, []byte(strings.Replace(string(src), "users: 20}", "users: 2000}", 1)), 0o644)
	code, _, stderr = runCLI(t, nil, "drive", long, "--target", dead.URL, "--out", t.TempDir(), "--setup=false", "--abort-on-fail", "1s")
	if code != 4 || !strings.Contains(stderr, "every request failed for") {
		t.Errorf("drive against a dead target exited %d, want 4 saying every request failed:\n%s", code, stderr)
	}

	code, stdout, _ = runCLI(t, nil, "drive", browseScenario(t, "slo: {hold_p99: 250ms}\n"), "--target", browseTarget(t, true), "--out", t.TempDir())
	if code != 3 || !strings.Contains(stdout, "slo FAIL hold_p99 no data") {
		t.Errorf("drive with an SLO on holds of a herd that holds nothing exited %d, want 3 and no data:\n%s", code, stdout)
	}
}

func TestDriveStartAtAndMetricsAddr(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	scenario := filepath.Join("..", "..", "scenarios", "quickstart.yaml")
	base := []string{scenario, "--target", "http://127.0.0.1:1", "--out", t.TempDir()}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"not an instant", []string{"--start-at", "tomorrow"}, "want an RFC 3339 instant"},
		{"long past", []string{"--start-at", time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)}, "in the past (more than 1m0s)"},
		{"metrics address taken", []string{"--metrics-addr", busy.Addr().String()}, "listen on " + busy.Addr().String()},
		{"bad event prefix", []string{"--event-prefix", "a b"}, `--event-prefix: event prefix "a b": use 1-48 of`},
		{"remote write not a URL", []string{"--metrics-remote-write", "prometheus:9090"}, "--metrics-remote-write: remote write endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, nil, append(append([]string{"drive"}, base...), tt.args...)...)
			if code == 0 || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stampede drive %v exited %d, want an error saying %q:\n%s", tt.args, code, tt.wantErr, stderr)
			}
		})
	}
}

// TestDriveMergeCombinesSummaries: two shards of a herd, merged with --scenario, give one
// drive-summary.json of the whole herd with its SLOs judged over both shards: exit 0 when they
// hold, 3 when one has no data.
func TestDriveMergeCombinesSummaries(t *testing.T) {
	target := browseTarget(t, true)
	for _, tt := range []struct {
		name, slo string
		code      int
	}{
		{"held", "slo: {error_rate: 1%}\n", 0},
		{"no data", "slo: {hold_p99: 250ms}\n", 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			scenario := browseScenario(t, tt.slo)
			dir := t.TempDir()
			var histories []string
			for i := range 2 {
				out := filepath.Join(dir, fmt.Sprintf("shard-%d", i))
				if code, stdout, stderr := runCLI(t, nil, "drive", scenario, "--target", target, "--out", out, "--quiet", "--shard", fmt.Sprintf("%d/2", i)); code != tt.code {
					t.Fatalf("shard %d exited %d, want %d\n%s\n%s", i, code, tt.code, stdout, stderr)
				}
				histories = append(histories, filepath.Join(out, "history.jsonl"))
			}
			merged := filepath.Join(dir, "merged", "history.jsonl")
			os.MkdirAll(filepath.Dir(merged), 0o755)
			code, stdout, stderr := runCLI(t, nil, append([]string{"drive", "merge", "--scenario", scenario, "--out", merged}, histories...)...)
			if code != tt.code {
				t.Fatalf("drive merge --scenario exited %d, want %d\n%s\n%s", code, tt.code, stdout, stderr)
			}
			b, err := os.ReadFile(filepath.Join(dir, "merged", "drive-summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			var sum struct {
				Users    int   `json:"users"`
				Requests int64 `json:"requests"`
				SLO      []struct {
					Name string `json:"name"`
					Pass bool   `json:"pass"`
				} `json:"slo"`
			}
			if err := json.Unmarshal(b, &sum); err != nil {
				t.Fatal(err)
			}
			if sum.Users != 20 || sum.Requests != 20 || len(sum.SLO) != 1 || sum.SLO[0].Pass != (tt.code == 0) {
				t.Errorf("combined summary: %d users, %d requests, SLOs %+v; want the 20 of both shards and the SLO judged", sum.Users, sum.Requests, sum.SLO)
			}
			if !strings.Contains(stdout, "users     20 planned, 20 arrived") {
				t.Errorf("drive merge --scenario printed no summary of the whole herd:\n%s", stdout)
			}
		})
	}
}

// TestDriveMetricsRemoteWrite: drive pushes its live metrics to a remote-write endpoint, at
// least once as it ends.
func TestDriveMetricsRemoteWrite(t *testing.T) {
	var mu sync.Mutex
	var pushes []string
	rw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pushes = append(pushes, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Encoding")+" "+r.Header.Get("Content-Type"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rw.Close()
	code, stdout, stderr := runCLI(t, nil, "drive", browseScenario(t, ""), "--target", browseTarget(t, true), "--out", t.TempDir(), "--quiet",
		"--metrics-remote-write", rw.URL+"/api/v1/write")
	if code != 0 {
		t.Fatalf("drive --metrics-remote-write exited %d\n%s\n%s", code, stdout, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pushes) == 0 || !strings.HasPrefix(pushes[0], "POST /api/v1/write snappy application/x-protobuf") {
		t.Errorf("pushes %q, want snappy-compressed protobuf POSTs to /api/v1/write", pushes)
	}
}
