package seatmap

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// bodyFile returns an anonymous in-memory file (memfd) holding body, for bodies large enough
// to be worth sending with sendfile(2), or nil when the system cannot make one (the body is
// then written as it is). The file is closed when it is no longer reachable.
func bodyFile(body []byte) *os.File {
	fd, err := unix.MemfdCreate("stampede-seatmap", unix.MFD_CLOEXEC)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), "seatmap")
	if _, err := f.Write(body); err != nil {
		f.Close()
		return nil
	}
	return f
}

// openBody opens f again, as a new open file description with its own offset from the start,
// so that concurrent requests each send all of it.
func openBody(f *os.File) (*os.File, error) {
	r, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	runtime.KeepAlive(f) // f's descriptor is not closed (and its number reused) before the open
	if err != nil {
		return nil, fmt.Errorf("reopen seat map body: %w", err)
	}
	return r, nil
}
