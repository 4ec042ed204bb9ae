package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCompletionScripts: the script of every shell names every command and every flag of
// each; each parses in its shell when that shell is installed (bash, at least, is).
func TestCompletionScripts(t *testing.T) {
	spec := completionSpec(&cli{getenv: func(string) string { return "" }})
	for _, shell := range shells {
		t.Run(shell, func(t *testing.T) {
			code, script, stderr := runCLI(t, nil, "completion", shell)
			if code != 0 || script == "" {
				t.Fatalf("stampede completion %s exited %d: %s", shell, code, stderr)
			}
			for _, c := range spec {
				if !strings.Contains(script, c.path) {
					t.Errorf("%s script lacks the command %q", shell, c.path)
				}
				for _, f := range c.flags {
					want := "--" + f.name
					if shell == "fish" {
						want = "-l '" + f.name + "'"
					}
					if !strings.Contains(script, want) {
						t.Errorf("%s script lacks %s of %s", shell, want, c.path)
					}
				}
			}
			bin, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("%s is not installed: the script is checked for its commands and flags only", shell)
			}
			path := filepath.Join(t.TempDir(), "stampede."+shell)
			if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "-n", path).CombinedOutput(); err != nil {
				t.Errorf("%s -n on the script: %v\n%s", shell, err, out)
			}
		})
	}
	if code, _, stderr := runCLI(t, nil, "completion", "tcsh"); code != 2 || !strings.Contains(stderr, "want bash, zsh or fish") {
		t.Errorf("stampede completion tcsh exited %d (%s), want 2", code, stderr)
	}
}

// TestBashCompletes runs the bash script's function on command lines and checks what it
// offers.
func TestBashCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	_, script, _ := runCLI(t, nil, "completion", "bash")
	path := filepath.Join(t.TempDir(), "stampede.bash")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line string // the words, the last one being completed
		want []string
		not  []string
	}{
		{"stampede ru", []string{"run"}, nil},
		{"stampede ", []string{"run", "drive", "check", "completion", "--version"}, nil},
		{"stampede run --stra", []string{"--strategy"}, nil},
		{"stampede run --strategy redis", []string{"redis-lock", "redis-lock-unfenced"}, []string{"pessimistic"}},
		{"stampede run --db ", []string{"postgres", "mysql", "all"}, nil},
		{"stampede drive pl", []string{"plan"}, nil},
		{"stampede drive plan --us", []string{"--users"}, []string{"--target"}},
		{"stampede drive --qu", []string{"--quiet"}, nil},
		{"stampede chaos ", []string{"list"}, nil},
		{"stampede chaos list --", []string{"--json", "--help"}, nil},
		{"stampede completion ", []string{"bash", "zsh", "fish"}, nil},
		{"stampede help dr", []string{"drive"}, nil},
		{"stampede compare --format ", []string{"md", "json"}, nil},
	}
	for _, tt := range tests {
		words := strings.Split(tt.line, " ")
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = sq(w)
		}
		prog := "source " + sq(path) + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_stampede\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Errorf("%q: %v\n%s", tt.line, err, out)
			continue
		}
		got := strings.Fields(string(out))
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("completing %q offers %q, want %q among them", tt.line, got, w)
			}
		}
		for _, w := range tt.not {
			if slices.Contains(got, w) {
				t.Errorf("completing %q offers %q, which should not be among them", tt.line, w)
			}
		}
	}
}
