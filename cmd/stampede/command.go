package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"

	"stampede/internal/envflag"
	"stampede/internal/exitcode"
)

// command is one subcommand: what its help says, its flags and what it does. Help,
// completion and the environment variables are all generated from these.
type command struct {
	// name is the subcommand's path after "stampede": "run", or "drive plan" for a
	// subcommand of drive.
	name string
	// summary is one line for the list of commands.
	summary string
	// usage are the synopsis lines, without "stampede ".
	usage []string
	// about says what the command does and what it reads and writes, in paragraphs.
	about string
	// examples are whole command lines, each with a comment after "  # " when it helps.
	examples []string
	// exits are the statuses the command ends with, each with what it means for it.
	exits []exit
	// subs are its subcommands (drive merge, chaos list), chosen by the first argument.
	subs []*command
	// args completes the positional arguments: a list of words, or one of argFile, argDir,
	// argCommand; nil means files.
	args []string
	// setup registers the command's flags on fs and returns what runs it with the positional
	// arguments; nil for a command that only groups subs.
	setup func(fs *flag.FlagSet, c *cli) action
	// flagValues completes a flag's value with these words.
	flagValues map[string][]string
}

// action runs a command once its flags are parsed; args are the positional arguments.
type action func(ctx context.Context, args []string) error

// exit is one exit status of a command and when the command ends with it; an empty when
// means the status's general meaning (exitcode.Meaning).
type exit struct {
	code int
	when string
}

// Completion kinds of command.args.
const (
	argFile    = "<file>"
	argDir     = "<dir>"
	argCommand = "<command>"
)

// lookup finds the command called name among cmds.
func lookup(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.leaf() == name {
			return c
		}
	}
	return nil
}

// leaf is the last word of the command's name: "plan" for "drive plan".
func (c *command) leaf() string {
	w := strings.Fields(c.name)
	return w[len(w)-1]
}

func names(cmds []*command) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.leaf()
	}
	return out
}

// flags builds the command's flag set (empty for a group) and its action.
func (cmd *command) flags(c *cli) (*flag.FlagSet, action) {
	fs := flag.NewFlagSet(prog(cmd.name), flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, and help is ours
	fs.Usage = func() {}
	if cmd.setup == nil {
		return fs, nil
	}
	return fs, cmd.setup(fs, c)
}

// run runs cmd with args: a subcommand when the first argument names one, else the flags
// (anywhere among the positional arguments), then the environment for every flag the command
// line did not give (envflag), then the action. -h or --help prints the help on stdout.
func (c *cli) run(ctx context.Context, cmd *command, args []string) (string, error) {
	if len(cmd.subs) > 0 && len(args) > 0 {
		if sub := lookup(cmd.subs, args[0]); sub != nil {
			return c.run(ctx, sub, args[1:])
		}
	}
	fs, act := cmd.flags(c)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return cmd.name, cmd.help(c.stdout, fs)
	}
	if err != nil {
		return cmd.name, exitcode.With(exitcode.Usage, err)
	}
	if act == nil {
		if len(pos) > 0 {
			return cmd.name, usageErrorf("unknown subcommand %q; want %s", pos[0], strings.Join(names(cmd.subs), " or "))
		}
		if err := cmd.help(c.stderr, fs); err != nil {
			return cmd.name, err
		}
		return cmd.name, exitcode.With(exitcode.Usage, nil)
	}
	if err := envflag.Apply(fs, cmd.name, c.getenv); err != nil {
		return cmd.name, exitcode.With(exitcode.Usage, err)
	}
	return cmd.name, act(ctx, pos)
}

// parseInterleaved parses fs from args with flags allowed before, between and after the
// positional arguments (`stampede compare base cand --gate ...`), and returns the positional
// ones in order; everything after `--` is positional. The error is the flag package's
// (flag.ErrHelp for -h and --help).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// wantArgs checks the number of positional arguments: from min to max (max < 0: no bound).
func wantArgs(args []string, min, max int, what string) error {
	switch {
	case len(args) < min:
		return usageErrorf("want %s", what)
	case max == 0 && len(args) > 0:
		return usageErrorf("unexpected argument %q (%s)", args[0], what)
	case max >= 0 && len(args) > max:
		return usageErrorf("want %s, got %q", what, args)
	}
	return nil
}

// inputError marks an input the command cannot use (a file that is not what it should be):
// exit status 2, as bad usage.
func inputError(err error) error {
	if err == nil {
		return nil
	}
	return exitcode.With(exitcode.Usage, err)
}
