// Package envflag is the one rule by which every stampede subcommand reads its flags from the
// environment. A flag --hold-ttl of `stampede serve` is read, when the command line does not
// give it, from STAMPEDE_SERVE_HOLD_TTL (the subcommand's own variable), else from
// STAMPEDE_HOLD_TTL (the variable every subcommand with that flag shares): STAMPEDE_, then the
// subcommand's name and the flag's, upper-case, with dashes and spaces as underscores. A flag on
// the command line wins over both; an empty variable counts as unset.
//
// The shared form is the short one (STAMPEDE_SEED, STAMPEDE_PG, STAMPEDE_TARGET); the
// subcommand's form keeps a variable meant for one subcommand away from the others, which
// matters where two subcommands give one flag name different meanings (--db is a DSN for
// serve and a list of databases for run: STAMPEDE_SERVE_DB).
package envflag

import (
	"flag"
	"fmt"
	"strings"
)

// Prefix starts the name of every variable stampede reads.
const Prefix = "STAMPEDE_"

// Name is the variable of a flag that every subcommand with that flag reads: hold-ttl is
// STAMPEDE_HOLD_TTL.
func Name(flagName string) string { return Prefix + upper(flagName) }

// ScopedName is the variable of a flag of one subcommand (its path, such as "serve" or
// "drive plan"): ScopedName("drive plan", "users") is STAMPEDE_DRIVE_PLAN_USERS.
func ScopedName(command, flagName string) string {
	return Prefix + upper(command) + "_" + upper(flagName)
}

func upper(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(s))
}

// Apply sets every flag of fs that the command line did not give (fs must have been parsed)
// from ScopedName(command, flag), else Name(flag), when getenv returns a non-empty value for
// it. A value the flag refuses is an error naming the variable. An empty command reads only
// the shared variables.
func Apply(fs *flag.FlagSet, command string, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		for _, name := range Names(command, f.Name) {
			v := getenv(name)
			if v == "" {
				continue
			}
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, serr)
			}
			return
		}
	})
	return err
}

// Names are the variables a flag of command is read from, the one that wins first.
func Names(command, flagName string) []string {
	if command == "" {
		return []string{Name(flagName)}
	}
	return []string{ScopedName(command, flagName), Name(flagName)}
}
