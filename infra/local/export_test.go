package local

// Test hooks: the start functions with their search directories.
var (
	StartPostgresIn = startPostgres
	StartMariaDBIn  = startMariaDB
)
