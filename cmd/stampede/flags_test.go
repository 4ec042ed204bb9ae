package main

import (
	"strings"
	"testing"
)

// allCommands is every command's path, subcommands included.
func allCommands() []string {
	var out []string
	var walk func(cmds []*command)
	walk = func(cmds []*command) {
		for _, c := range cmds {
			out = append(out, c.name)
			walk(c.subs)
		}
	}
	walk(commands())
	return out
}

// TestSubcommandFlags: every command, subcommands included, prints its own help on stdout and
// exits 0 on -h and --help (never the flag package's "Usage of ..."), and exits 2 on a flag it
// does not know, saying so on stderr with a pointer to the help.
func TestSubcommandFlags(t *testing.T) {
	for _, name := range allCommands() {
		args := strings.Fields(name)
		for _, h := range []string{"-h", "--help"} {
			code, stdout, stderr := runCLI(t, nil, append(args, h)...)
			if code != 0 || !strings.HasPrefix(stdout, "stampede "+name+": ") || !strings.Contains(stdout, "\nUsage:\n  stampede "+args[0]) ||
				stderr != "" || strings.Contains(stdout, "Usage of") {
				t.Errorf("stampede %s %s exited %d\nstdout:\n%s\nstderr:\n%s\nwant 0 and the command's help on stdout", name, h, code, stdout, stderr)
			}
		}
		code, stdout, stderr := runCLI(t, nil, append(args, "--no-such-flag")...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "stampede "+name+": flag provided but not defined: -no-such-flag") ||
			!strings.Contains(stderr, "Run 'stampede "+name+" --help' for usage.") {
			t.Errorf("stampede %s --no-such-flag exited %d\nstdout:\n%s\nstderr:\n%s\nwant 2 and what was wrong on stderr", name, code, stdout, stderr)
		}
	}
}
