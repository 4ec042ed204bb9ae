package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestComposeRunCommandLines checks the stampede command lines of docker-compose.yml's run
// service against the flag sets, and the scenario and events it names against the scenarios
// the image carries. (infra's tests check the rest of the compose file.)
func TestComposeRunCommandLines(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Entrypoint  []string          `yaml:"entrypoint"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	run, ok := f.Services["run"]
	if !ok {
		t.Skip("no run service")
	}
	if !slices.Equal(run.Entrypoint, []string{"/bin/sh", "-c"}) || len(run.Command) != 1 {
		t.Fatalf("run: entrypoint %q command %q, want a shell script", run.Entrypoint, run.Command)
	}
	// Compose turns $$ into $ before the shell sees the script.
	script := strings.ReplaceAll(run.Command[0], "$$", "$")
	fl := newFlagSets(t)
	var subs []string
	for _, args := range stampedeCalls(script) {
		for _, p := range fl.check(args) {
			t.Errorf("run: %s", p)
		}
		subs = append(subs, args[0])
		if args[0] == "drive" && len(args) > 1 {
			scenario := strings.ReplaceAll(args[1], "$SCENARIO", run.Environment["SCENARIO"])
			if sc := checkImageScenario(t, scenario); sc != nil && run.Environment["EVENTS"] != strings.Join(sc.EventIDs(), " ") {
				t.Errorf("run: EVENTS %q, want the events of %s: %q", run.Environment["EVENTS"], scenario, strings.Join(sc.EventIDs(), " "))
			}
		}
	}
	if !slices.Equal(subs, []string{"drive", "check"}) {
		t.Errorf("run: stampede %q, want drive then check", subs)
	}
}
