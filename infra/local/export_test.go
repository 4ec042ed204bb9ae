package local

// Test hooks: the start functions with their search directories, and the /proc scans.
var (
	StartPostgresIn = startPostgres
	StartMariaDBIn  = startMariaDB
	StartRedisIn    = startRedis
	ProcessFamily   = processFamily
	Running         = running
)

// FindBinary is findBinary, for the search-order test.
var FindBinary = findBinary
