package local

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Storage is where the local services keep their data.
//
// StorageMemory puts their data directories on a tmpfs (/dev/shm). Every fault stampede injects
// is a process fault (kill, pause, restart, a dropped connection), and a process killed on a
// tmpfs loses nothing it committed: its writes are in the kernel's pages, which outlive it, so
// the faults mean what they mean on disk. What memory storage leaves out is the disk: a commit's
// fsync costs nothing, and the stalls of a shared or virtual disk (hundreds of milliseconds for
// one fsync, now and then, on an idle cloud VM) do not reach the run. Those stalls hit every
// strategy alike and no strategy can fix them, so they are noise in a comparison or a CI gate;
// a team that wants its own disk in the figures runs --storage disk, or --env external against
// its own databases.
//
// StorageDisk puts them under os.TempDir(): every commit waits for the machine's disk.
type Storage string

const (
	StorageMemory Storage = "memory"
	StorageDisk   Storage = "disk"
)

// Storages are the storages a --storage flag takes.
var Storages = []string{string(StorageMemory), string(StorageDisk)}

// memoryDir is where memory storage lives (a variable for tests).
var memoryDir = "/dev/shm"

// errNoMemory: the machine has no tmpfs stampede can write to at memoryDir.
var errNoMemory = errors.New("no tmpfs that this user can write to")

// ResolveStorage returns the storage name s stands for ("" is the default: memory where the
// machine has a writable tmpfs at /dev/shm, else disk), the parent directory of the services'
// data directories, and a description for reports ("memory (tmpfs /dev/shm)"). Asking for
// memory on a machine without that tmpfs is an error saying so.
func ResolveStorage(s string) (Storage, string, string, error) {
	switch Storage(s) {
	case "":
		if memoryUsable() == nil {
			return ResolveStorage(string(StorageMemory))
		}
		return StorageDisk, os.TempDir(), "disk (" + os.TempDir() + "; no tmpfs at " + memoryDir + ")", nil
	case StorageMemory:
		if err := memoryUsable(); err != nil {
			return "", "", "", fmt.Errorf("storage memory: %w; use --storage disk", err)
		}
		return StorageMemory, memoryDir, "memory (tmpfs " + memoryDir + ")", nil
	case StorageDisk:
		return StorageDisk, os.TempDir(), "disk (" + os.TempDir() + ")", nil
	}
	return "", "", "", fmt.Errorf("storage %q: want %s", s, strings.Join(Storages, " or "))
}

// memoryUsable reports why memoryDir cannot hold the services' data, or nil: it must be a
// tmpfs and writable.
func memoryUsable() error {
	if !isTmpfs(memoryDir) {
		return fmt.Errorf("%w at %s", errNoMemory, memoryDir)
	}
	f, err := os.CreateTemp(memoryDir, ".stampede-probe-")
	if err != nil {
		return fmt.Errorf("%w at %s: %v", errNoMemory, memoryDir, err)
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return nil
}
