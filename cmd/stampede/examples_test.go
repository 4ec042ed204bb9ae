package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// pendingFlags are flags the examples use that a subcommand does not register yet, with
// whether each takes a value (none today). The test treats them as known while they are
// missing, and fails once the subcommand has them, so that the list is emptied instead of
// going stale.
var pendingFlags = map[string]map[string]bool{}

// TestCompareExamples checks every stampede command line of the CI examples in examples/
// against the subcommands and the flag sets cmd/stampede registers: a copied example must not
// call a subcommand or a flag that does not exist.
func TestCompareExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("examples: %d CI files, want github-actions.yml and gitlab-ci.yml", len(files))
	}
	fl := newFlagSets(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := yaml.Unmarshal(src, &doc); err != nil {
				t.Fatalf("parse %s: %v", filepath.Base(f), err)
			}
			var calls [][]string
			for _, script := range scripts(doc, "") {
				calls = append(calls, stampedeCalls(script)...)
			}
			var subs []string
			for _, c := range calls {
				for _, p := range fl.check(c) {
					t.Errorf("%s: %s", filepath.Base(f), p)
				}
				if len(c) > 0 {
					subs = append(subs, c[0])
				}
			}
			// The examples are the regression gate: a baseline run, a gated run and compare.
			for _, want := range []string{"run", "compare"} {
				if !slices.Contains(subs, want) {
					t.Errorf("%s: no stampede %s (found %v)", filepath.Base(f), want, subs)
				}
			}
			for _, want := range []string{"--repeat 5", "--baseline baseline/summary.json"} {
				if !strings.Contains(string(src), want) {
					t.Errorf("%s: no stampede run %s", filepath.Base(f), want)
				}
			}
		})
	}
	for sub, flags := range pendingFlags {
		for name := range flags {
			if _, ok := fl.of(sub)[name]; ok {
				t.Errorf("stampede %s now registers --%s: remove it from pendingFlags", sub, name)
			}
		}
	}
}

// TestCompareExamplesCatchMistakes: the check finds what it is for.
func TestCompareExamplesCatchMistakes(t *testing.T) {
	fl := newFlagSets(t)
	script := "set -e\nFOO=1 bin/stampede compare a b --gate hold_p99=+10% \\\n  --formt md > compare.md || status=$?\n" +
		"echo stampede is not a call; ../x/stampede frobnicate\nstampede run s.yaml --strategy=naive --repeat 5 --allow-unsafe --no-such x\n" +
		"stampede run --seed 7 s.yaml | tee log; (cd x && stampede check --json d)\n"
	var problems []string
	calls := stampedeCalls(script)
	for _, c := range calls {
		problems = append(problems, fl.check(c)...)
	}
	want := []string{"stampede compare: no flag --formt", "stampede frobnicate: no such subcommand", "stampede run: no flag --no-such"}
	if !slices.Equal(problems, want) {
		t.Errorf("problems %q, want %q", problems, want)
	}
	if len(calls) != 5 {
		t.Errorf("found %d stampede calls %q, want 5", len(calls), calls)
	}
}

// scripts collects the shell scripts of a CI file: every string under a run, script,
// before_script or after_script key (a string or a list of them).
func scripts(n any, key string) []string {
	var out []string
	switch v := n.(type) {
	case map[string]any:
		for k, x := range v {
			out = append(out, scripts(x, k)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, scripts(x, key)...)
		}
	case string:
		switch key {
		case "run", "script", "before_script", "after_script":
			out = append(out, v)
		}
	}
	return out
}

// stampedeCalls returns the arguments of every command of script whose program is stampede
// (any path ending in /stampede), after environment assignments.
func stampedeCalls(script string) [][]string {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out [][]string
	for _, cmd := range shellCommands(script) {
		for len(cmd) > 0 && strings.Contains(cmd[0], "=") {
			cmd = cmd[1:]
		}
		if len(cmd) > 0 && filepath.Base(cmd[0]) == "stampede" {
			out = append(out, cmd[1:])
		}
	}
	return out
}

// shellCommands splits a script into simple commands of words, enough for CI scripts: quotes
// are kept together, and newlines, ; & | ( ) and redirections end a command.
func shellCommands(s string) [][]string {
	var cmds [][]string
	var cmd []string
	var word strings.Builder
	inWord := false
	flushWord := func() {
		if inWord {
			cmd = append(cmd, word.String())
			word.Reset()
			inWord = false
		}
	}
	flushCmd := func() {
		flushWord()
		if len(cmd) > 0 {
			cmds = append(cmds, cmd)
			cmd = nil
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				j = len(s) - i - 1
			}
			word.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == ' ' || c == '\t':
			flushWord()
		case strings.IndexByte("\n;&|()<>", c) >= 0:
			flushCmd()
		case c == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
			flushCmd()
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	flushCmd()
	return cmds
}

// nestedCommands are the subcommands of a subcommand, with flag sets of their own.
var nestedCommands = map[string][]string{"drive": {"merge", "plan"}}

// flagSets knows each subcommand's flags from the command table.
type flagSets struct {
	tb   testing.TB
	sets map[string]map[string]bool // subcommand -> flag -> takes a value
}

func newFlagSets(tb testing.TB) *flagSets {
	return &flagSets{tb: tb, sets: map[string]map[string]bool{}}
}

// of returns sub's flags and whether each takes a value.
func (f *flagSets) of(sub string) map[string]bool {
	if s, ok := f.sets[sub]; ok {
		return s
	}
	f.tb.Helper()
	cmds := commands()
	var cmd *command
	for _, w := range strings.Fields(sub) { // "drive merge": a subcommand of a subcommand
		if cmd = lookup(cmds, w); cmd == nil {
			f.tb.Fatalf("no subcommand %s", sub)
		}
		cmds = cmd.subs
	}
	fs, _ := cmd.flags(&cli{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }})
	s := map[string]bool{}
	fs.VisitAll(func(fl *flag.Flag) {
		b, ok := fl.Value.(interface{ IsBoolFlag() bool })
		s[fl.Name] = !(ok && b.IsBoolFlag())
	})
	f.sets[sub] = s
	return s
}

// check returns what is wrong with one call's arguments (the subcommand first).
func (f *flagSets) check(args []string) []string {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return []string{fmt.Sprintf("stampede %s: no subcommand", strings.Join(args, " "))}
	}
	sub := args[0]
	args = args[1:]
	if lookup(commands(), sub) == nil {
		return []string{fmt.Sprintf("stampede %s: no such subcommand", sub)}
	}
	if len(args) > 0 && slices.Contains(nestedCommands[sub], args[0]) {
		sub, args = sub+" "+args[0], args[1:]
	}
	known := f.of(sub)
	var problems []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, ok := known[name]
		if !ok {
			takesValue, ok = pendingFlags[sub][name]
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("stampede %s: no flag --%s", sub, name))
			continue
		}
		if takesValue && !hasValue {
			i++
		}
	}
	return problems
}
