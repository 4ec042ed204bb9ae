package local

import (
	"os"
	"strings"
	"testing"
)

// TestResolveStorage: memory is the default where /dev/shm is a writable tmpfs (it is on
// Linux machines with one) and disk otherwise; asking for memory without one, or for a storage
// that does not exist, is an error that says what to do.
func TestResolveStorage(t *testing.T) {
	st, dir, text, err := ResolveStorage("disk")
	if err != nil || st != StorageDisk || dir != os.TempDir() || !strings.HasPrefix(text, "disk (") {
		t.Errorf("ResolveStorage(disk) = %q, %q, %q, %v", st, dir, text, err)
	}
	if _, _, _, err := ResolveStorage("floppy"); err == nil || !strings.Contains(err.Error(), `storage "floppy": want memory or disk`) {
		t.Errorf("ResolveStorage(floppy) = %v", err)
	}
	if isTmpfs("/dev/shm") {
		st, dir, text, err := ResolveStorage("")
		if err != nil || st != StorageMemory || dir != "/dev/shm" || text != "memory (tmpfs /dev/shm)" {
			t.Errorf("ResolveStorage() on a machine with a tmpfs = %q, %q, %q, %v", st, dir, text, err)
		}
	}
	if isTmpfs(os.TempDir()) {
		t.Skipf("%s is a tmpfs itself: no directory here to stand for a machine without one", os.TempDir())
	}
	old := memoryDir
	memoryDir = t.TempDir() // on disk: as on a machine without a tmpfs
	t.Cleanup(func() { memoryDir = old })
	st, dir, text, err = ResolveStorage("")
	if err != nil || st != StorageDisk || dir != os.TempDir() || !strings.Contains(text, "no tmpfs at") {
		t.Errorf("ResolveStorage() without a tmpfs = %q, %q, %q, %v", st, dir, text, err)
	}
	if _, _, _, err := ResolveStorage("memory"); err == nil || !strings.Contains(err.Error(), "no tmpfs that this user can write to at") ||
		!strings.Contains(err.Error(), "use --storage disk") {
		t.Errorf("ResolveStorage(memory) without a tmpfs = %v", err)
	}
}
