package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"stampede/internal/envflag"
	"stampede/internal/exitcode"
)

// helpCommand is `stampede help [COMMAND [SUBCOMMAND]]`.
func helpCommand() *command {
	return &command{
		name:     "help",
		summary:  "print the help of stampede or of a command",
		usage:    []string{"help [COMMAND [SUBCOMMAND]]"},
		about:    "Prints what a command does, its flags, the environment variables it reads, examples and its exit statuses; with no command, the list of commands.",
		examples: []string{"stampede help run", "stampede help drive plan"},
		exits:    []exit{{exitcode.OK, ""}, {exitcode.Usage, "no such command"}},
		args:     []string{argCommand},
		setup: func(fs *flag.FlagSet, c *cli) action {
			return func(_ context.Context, args []string) error {
				if len(args) == 0 {
					return c.overview(c.stdout)
				}
				cmds := commands()
				var cmd *command
				for _, a := range args {
					if cmd = lookup(cmds, a); cmd == nil {
						return usageErrorf("no command %q; the commands are %s", a, strings.Join(names(cmds), ", "))
					}
					cmds = cmd.subs
				}
				cfs, _ := cmd.flags(c)
				return cmd.help(c.stdout, cfs)
			}
		},
	}
}

// overview is stampede's own help: what it is, where to start, the commands, the environment
// rule and the exit statuses.
func (c *cli) overview(w io.Writer) error {
	var b strings.Builder
	b.WriteString("stampede drives a seeded herd of buyers at a ticket-booking system, injects the faults real\n" +
		"on-sales suffer, and proves with a checker that no seat was sold twice and no money was lost.\n\n")
	b.WriteString("Usage:\n  stampede COMMAND [arguments] [flags]\n\n")
	b.WriteString("Start here:\n")
	b.WriteString("  make demo       the one-line demo: builds stampede, then stampede run\n")
	b.WriteString("  stampede run    the quickstart scenario on every safe strategy; the report lands in runs/\n\n")
	b.WriteString("Commands:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(&b, "  %-11s %s\n", cmd.name, cmd.summary)
	}
	b.WriteString("\nRun 'stampede help COMMAND' or 'stampede COMMAND --help' for its flags, examples and exit statuses;\n" +
		"'stampede --version' for the version.\n\n")
	b.WriteString("Environment:\n")
	b.WriteString(wrap(envRule, "  "))
	b.WriteString("\nExit status (the same meaning for every command; the highest in this order wins when\n" +
		"several apply: violation, interrupted, usage, harness, coverage, gate):\n")
	for _, code := range exitcode.Codes() {
		fmt.Fprintf(&b, "  %-4d %s\n", code, exitcode.Meaning(code))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// envRule is the environment rule, said once for every command (envflag).
const envRule = "Every flag of every command can also be set in the environment. A flag --hold-ttl of " +
	"stampede serve is read from STAMPEDE_SERVE_HOLD_TTL, else from STAMPEDE_HOLD_TTL: STAMPEDE_, the command, " +
	"the flag, upper-case, with dashes as underscores; the second form is shared by every command with that flag. " +
	"A flag on the command line wins over both; an empty variable counts as unset."

// help writes cmd's help: what it does, its flags, environment, examples and exit statuses.
func (cmd *command) help(w io.Writer, fs *flag.FlagSet) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\nUsage:\n", prog(cmd.name), cmd.summary)
	for _, u := range cmd.usage {
		fmt.Fprintf(&b, "  stampede %s\n", u)
	}
	if cmd.about != "" {
		b.WriteString("\n")
		for i, p := range strings.Split(cmd.about, "\n\n") {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString(wrap(p, ""))
		}
	}
	if len(cmd.subs) > 0 {
		b.WriteString("\nCommands:\n")
		for _, s := range cmd.subs {
			fmt.Fprintf(&b, "  %-8s %s\n", s.leaf(), s.summary)
		}
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nFlags:\n")
		writeFlags(&b, fs)
		b.WriteString("\nEnvironment:\n")
		var example string
		fs.VisitAll(func(f *flag.Flag) {
			if example == "" {
				example = f.Name
			}
		})
		b.WriteString(wrap(fmt.Sprintf("Every flag also from %s, else %s (e.g. %s); a flag on the command line wins.",
			envflag.ScopedName(cmd.name, "<FLAG>"), envflag.Name("<FLAG>"), strings.Join(envflag.Names(cmd.name, example), ", ")), "  "))
	}
	if len(cmd.examples) > 0 {
		b.WriteString("\nExamples:\n")
		for _, e := range cmd.examples {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	if len(cmd.exits) > 0 {
		b.WriteString("\nExit status:\n")
		for _, e := range cmd.exits {
			when := e.when
			switch {
			case when != "":
				when = exitcode.Name(e.code) + ": " + when
			case e.code == exitcode.OK:
				when = "ok"
			default:
				when = exitcode.Meaning(e.code)
			}
			fmt.Fprintf(&b, "  %-4d %s\n", e.code, when)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeFlags lists the flags of fs as flag.PrintDefaults does, with two dashes.
func writeFlags(b *strings.Builder, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(b, "  --%s", f.Name)
		if kind != "" {
			fmt.Fprintf(b, " %s", kind)
		}
		b.WriteString("\n")
		if usage != "" {
			b.WriteString(wrap(usage, "        "))
		}
		switch f.DefValue {
		case "", "0", "false", "0s", "[]":
		default:
			fmt.Fprintf(b, "        (default %s)\n", f.DefValue)
		}
	})
}

// wrap breaks text into lines of at most 100 columns, each starting with indent.
func wrap(text, indent string) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > 100 {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
	return b.String()
}
