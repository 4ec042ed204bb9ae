package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"stampede/internal/exitcode"
	"stampede/reports"
)

// TestBareStampedePrintsHelp: stampede with no arguments, -h, --help and help print the
// overview on stdout and exit 0, pointing at make demo and stampede run; it never starts a run.
func TestBareStampedePrintsHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"-h"}, {"--help"}, {"help"}} {
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != 0 || stderr != "" {
			t.Errorf("stampede %v exited %d, stderr %q; want 0 and nothing on stderr", args, code, stderr)
		}
		for _, want := range []string{"Usage:\n  stampede COMMAND", "make demo", "stampede run ", "Environment:", "STAMPEDE_SERVE_HOLD_TTL", "Exit status"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stampede %v: the help lacks %q:\n%s", args, want, stdout)
			}
		}
		for _, c := range commands() {
			if !strings.Contains(stdout, "\n  "+c.name+" ") {
				t.Errorf("stampede %v: the help does not list %s", args, c.name)
			}
		}
		for _, code := range exitcode.Codes() {
			if !strings.Contains(stdout, exitcode.Meaning(code)) {
				t.Errorf("stampede %v: the help lacks exit status %d", args, code)
			}
		}
	}
	code, _, stderr := runCLI(t, nil, "frobnicate")
	if code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("stampede frobnicate exited %d (%s), want 2", code, stderr)
	}
}

// TestMakeDemo: make demo is the one-line demo, and calls stampede run explicitly.
func TestMakeDemo(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^demo:.*\n((?:\t.*\n)+)`).FindSubmatch(b)
	if m == nil || !regexp.MustCompile(`^\t\S*\$\(BIN\) run\b`).Match(m[1]) {
		t.Errorf("make demo's recipe %q, want one line calling stampede run", m)
	}
}

// TestHelpOfEveryCommand: stampede help CMD is CMD --help, with a synopsis, examples and the
// exit statuses of exitcode's table.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, name := range allCommands() {
		args := strings.Fields(name)
		_, viaHelp, _ := runCLI(t, nil, append([]string{"help"}, args...)...)
		_, viaFlag, _ := runCLI(t, nil, append(args, "--help")...)
		if viaHelp != viaFlag {
			t.Errorf("stampede help %s differs from stampede %s --help", name, name)
		}
		cmd := lookupPath(t, name)
		for _, want := range []string{"Usage:\n  stampede " + args[0], "Exit status:\n  0    "} {
			if !strings.Contains(viaHelp, want) {
				t.Errorf("stampede help %s lacks %q:\n%s", name, want, viaHelp)
			}
		}
		if cmd.setup != nil && cmd.name != "help" && cmd.name != "version" && !strings.Contains(viaHelp, "Examples:\n  stampede ") &&
			!strings.Contains(viaHelp, "Examples:\n  source") {
			t.Errorf("stampede help %s has no examples:\n%s", name, viaHelp)
		}
		for _, e := range cmd.exits {
			if exitcode.Meaning(e.code) == "" {
				t.Errorf("stampede %s documents exit status %d, which internal/exitcode does not have", name, e.code)
			}
		}
	}
	if code, _, stderr := runCLI(t, nil, "help", "nope"); code != 2 || !strings.Contains(stderr, `no command "nope"`) {
		t.Errorf("stampede help nope exited %d (%s), want 2", code, stderr)
	}
	// A group without its subcommand is a usage error with its help on stderr.
	if code, stdout, stderr := runCLI(t, nil, "chaos"); code != 2 || stdout != "" || !strings.Contains(stderr, "stampede chaos list") {
		t.Errorf("stampede chaos exited %d, stdout %q, stderr %q; want 2 and the help on stderr", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, nil, "chaos", "lsit"); code != 2 || !strings.Contains(stderr, `unknown subcommand "lsit"; want list`) {
		t.Errorf("stampede chaos lsit exited %d (%s), want 2", code, stderr)
	}
}

func lookupPath(t *testing.T, name string) *command {
	t.Helper()
	cmds := commands()
	var cmd *command
	for _, w := range strings.Fields(name) {
		if cmd = lookup(cmds, w); cmd == nil {
			t.Fatalf("no command %s", name)
		}
		cmds = cmd.subs
	}
	return cmd
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, _ := runCLI(t, nil, args...)
		if code != 0 || !regexp.MustCompile(`^stampede \S+ \((revision [0-9a-f]+(, modified)?|no VCS revision recorded); go1\.\d+`).MatchString(stdout) {
			t.Errorf("stampede %v exited %d, printed %q; want the version, the revision and the Go version", args, code, stdout)
		}
	}
	line := versionLine(reports.Provenance{Version: "v1.2.3", Revision: "0123abcd", Modified: true, GoVersion: "go1.26.8"})
	if line != "stampede v1.2.3 (revision 0123abcd, modified; go1.26.8)" {
		t.Errorf("versionLine = %q", line)
	}
	if b := reports.ThisBuild(""); versionString() != b.Version && b.Version != "" {
		t.Errorf("versionString %q is not the build's version %q", versionString(), b.Version)
	}
}

// TestChaosListJSON: chaos list --json is every fault with its parameters, as data.
func TestChaosListJSON(t *testing.T) {
	code, stdout, _ := runCLI(t, nil, "chaos", "list", "--json")
	if code != 0 {
		t.Fatalf("stampede chaos list --json exited %d", code)
	}
	var got struct {
		Faults []struct {
			Name   string `json:"name"`
			Window bool   `json:"window"`
			Params []struct {
				Name string `json:"name"`
				Kind string `json:"kind"`
			} `json:"params"`
		} `json:"faults"`
		Failpoints []string `json:"failpoints"`
	}
	if err := jsonUnmarshal(stdout, &got); err != nil {
		t.Fatalf("chaos list --json: %v\n%s", err, stdout)
	}
	_, text, _ := runCLI(t, nil, "chaos", "list")
	var names []string
	for _, f := range got.Faults {
		names = append(names, f.Name)
		if !strings.Contains(text, f.Name+"  [") {
			t.Errorf("fault %s of the JSON is not in chaos list", f.Name)
		}
		if f.Params == nil {
			t.Errorf("fault %s: params null, want a list", f.Name)
		}
	}
	if !slices.Contains(names, "redis-restart") || !slices.Contains(names, "psp-delay") || !slices.Contains(got.Failpoints, "after-charge") {
		t.Errorf("chaos list --json: faults %v, failpoints %v", names, got.Failpoints)
	}
}

// TestExitCodes: one meaning per exit status for every subcommand, through realMain (the
// process's streams) and, for an interruption, a cancelled context.
func TestExitCodes(t *testing.T) {
	for _, s := range []**os.File{&os.Stdout, &os.Stderr} {
		saved := *s
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		*s = devnull
		t.Cleanup(func() { *s = saved; devnull.Close() })
	}
	run := copyTestdata(t, map[string]string{"history.jsonl": "run/history.jsonl"})
	bad := copyTestdata(t, map[string]string{"history.jsonl": "lin/bad-double-sale.jsonl"})
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"ok: version", []string{"version"}, exitcode.OK},
		{"ok: a clean history", []string{"check", run}, exitcode.OK},
		{"violation: a seat sold twice", []string{"check", bad}, exitcode.Violation},
		{"violation: compare, a candidate's check failed", []string{"compare", compareData("base"), compareData("broken")}, exitcode.Violation},
		{"usage: an unknown flag", []string{"run", "--frobnicate"}, exitcode.Usage},
		{"usage: check of an empty directory", []string{"check", t.TempDir()}, exitcode.Usage},
		{"usage: a scenario that does not exist", []string{"run", "nope.yaml", "--strategy", "pessimistic"}, exitcode.Usage},
		{"gate: compare, a regression", []string{"compare", compareData("base"), compareData("slower"), "--gate", "hold_p99=+10%"}, exitcode.Gate},
		{"harness: a ledger that does not answer", []string{"check", run, "--ledger", "http://127.0.0.1:1"}, exitcode.Harness},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := realMain(tt.args); got != tt.want {
				t.Errorf("stampede %v exited %d, want %d", tt.args, got, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code, _, stderr := runCLIContext(t, ctx, nil, "check", run); code != exitcode.Interrupted {
		t.Errorf("an interrupted stampede check exited %d (%s), want %d", code, stderr, exitcode.Interrupted)
	}
}

// TestEnvironmentOfEveryFlag: the one rule reads every flag of every command, a flag on the
// command line wins, and the help of every command says so.
func TestEnvironmentOfEveryFlag(t *testing.T) {
	run := copyTestdata(t, map[string]string{"history.jsonl": "lin/bad-double-sale.jsonl"})
	// --json from check's own variable, --hold-loss-faults from the shared one.
	code, stdout, _ := runCLI(t, map[string]string{"STAMPEDE_CHECK_JSON": "true", "STAMPEDE_HOLD_LOSS_FAULTS": ""}, "check", run)
	if code != 1 || !strings.HasPrefix(stdout, "{") {
		t.Errorf("stampede check with STAMPEDE_CHECK_JSON=true exited %d, printed %.40q; want 1 and JSON", code, stdout)
	}
	code, stdout, _ = runCLI(t, map[string]string{"STAMPEDE_JSON": "true"}, "check", run, "--json=false")
	if code != 1 || strings.HasPrefix(stdout, "{") {
		t.Errorf("stampede check --json=false with STAMPEDE_JSON=true printed %.40q; want the table: the flag wins", stdout)
	}
	code, _, stderr := runCLI(t, map[string]string{"STAMPEDE_CHECK_TIMEOUT": "soon"}, "check", run)
	if code != 2 || !strings.Contains(stderr, `STAMPEDE_CHECK_TIMEOUT="soon"`) {
		t.Errorf("stampede check with STAMPEDE_CHECK_TIMEOUT=soon exited %d (%s), want 2 naming the variable", code, stderr)
	}
	_, help, _ := runCLI(t, nil, "help", "run")
	if !strings.Contains(help, "STAMPEDE_RUN_<FLAG>, else STAMPEDE_<FLAG>") {
		t.Errorf("stampede help run does not give the environment rule:\n%s", help)
	}
}
