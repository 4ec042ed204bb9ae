package reports

import (
	"fmt"
	"strings"
)

// Storage is where a run against a database it does not own (stampede run --env external)
// kept its data: a schema (PostgreSQL) or a database (MySQL) of its own, created before the
// first strategy ran and dropped after the last unless the run was told to keep it (--keep).
type Storage struct {
	// DB is the dialect: postgres or mysql.
	DB string `json:"db"`
	// Kind is "schema" (PostgreSQL, in the user's database) or "database" (MySQL).
	Kind string `json:"kind"`
	// Name is the schema's or database's name (stampede_run_<time>_<random>).
	Name string `json:"name"`
	// Server is where it was: host:port and, for a schema, the database that holds it; never
	// credentials.
	Server string `json:"server"`
	// Kept is set when it was left in place (--keep); otherwise it was dropped, unless
	// DropError says why not.
	Kept      bool   `json:"kept"`
	DropError string `json:"drop_error,omitempty"`
}

// Line says in one sentence where the data was and what became of it, for the reports.
func (s Storage) Line() string {
	where := fmt.Sprintf("%s in %s %s on %s", s.DB, s.Kind, s.Name, s.Server)
	switch {
	case s.Kept:
		return where + ": kept (--keep); drop it with " + s.DropStatement()
	case s.DropError != "":
		return where + ": could not be dropped (" + s.DropError + "); drop it with " + s.DropStatement()
	}
	return where + ": dropped at the end of the run"
}

// DropStatement is the SQL that removes it.
func (s Storage) DropStatement() string {
	if s.Kind == "schema" {
		return "DROP SCHEMA " + s.Name + " CASCADE"
	}
	return "DROP DATABASE `" + s.Name + "`"
}

// storageMarkdown writes where the data was, when the run kept it in places of its own.
func storageMarkdown(b *strings.Builder, s *Summary) {
	if len(s.Storage) == 0 {
		return
	}
	b.WriteString("Data, kept apart from the database given:\n\n")
	for _, st := range s.Storage {
		fmt.Fprintf(b, "- %s\n", mdEscape(st.Line()))
	}
	b.WriteString("\n")
}
