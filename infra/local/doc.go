// Package local starts ephemeral PostgreSQL, MariaDB/MySQL and Redis processes from the
// binaries installed on the machine, on free loopback ports in a temporary directory, and
// removes them afterwards. It owns the processes, so chaos faults can kill, pause and restart
// them.
//
// StartPostgres and StartMariaDB each start one service under a directory the caller owns
// (Redis is started by internal/proc's StartRedis, which tests use too); StartEnv starts the
// ones a run wants, concurrently, in a directory of its own that Env.Close removes.
// MySQLInstalled says whether there is a MySQL server to start. Binaries are looked up in PATH
// and then in the usual Debian, RHEL and Homebrew places (PostgreSQL's server binaries live
// outside PATH on Debian, in /usr/lib/postgresql/VERSION/bin); a missing one is a
// *MissingBinaryError naming the package to install.
//
// The processes are internal/proc's: each runs in its own process group and dies with
// stampede (the parent-death signal), so an interrupted run leaves no server behind; Kill,
// Pause and Resume act on the process and every process it started, found through /proc: the
// package is for Linux. PostgreSQL refuses to run as root; when stampede is root it runs
// PostgreSQL as the user postgres (or nobody), as StartPostgres describes.
package local
