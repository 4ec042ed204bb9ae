// Package local starts ephemeral PostgreSQL, MariaDB/MySQL and Redis processes from the
// binaries installed on the machine, on free loopback ports in a temporary directory, and
// removes them afterwards. It owns the processes, so chaos faults can kill, pause and restart
// them.
package local
