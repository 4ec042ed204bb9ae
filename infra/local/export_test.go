package local

// Test hooks: the start functions with their search directories, and the /proc scans.
var (
	StartPostgresIn = startPostgres
	StartMariaDBIn  = startMariaDB
	StartRedisIn    = startRedis
	ProcessFamily   = processFamily
	Running         = running
)
