//go:build !linux

package local

// isTmpfs reports whether dir is on a tmpfs: only known on Linux.
func isTmpfs(string) bool { return false }
