package proc_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"stampede/internal/proc"
)

func noWait(context.Context) error { return nil }

// TestProcessOutlivesStartingThread starts a process from a goroutine locked to its OS thread
// and lets the goroutine end locked, so the Go runtime retires the thread. The parent-death
// signal is tied to the thread that started a child: the process must still run afterwards.
func TestProcessOutlivesStartingThread(t *testing.T) {
	p, err := proc.NewProcess("sleeper", "sleep", []string{"30"}, nil, 0, filepath.Join(t.TempDir(), "sleep.log"), noWait)
	if err != nil {
		t.Skipf("sleep: %v", err)
	}
	// The runtime never retires the main thread: if the goroutine lands there, keep it there
	// (locked, until the test ends) and start from another, which cannot be on it.
	release := make(chan struct{})
	defer close(release)
	errc := make(chan error, 1)
	tid := 0
	for tid == 0 {
		tids := make(chan int, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			if syscall.Gettid() == os.Getpid() {
				tids <- 0
				<-release
				return
			}
			tids <- syscall.Gettid()
			errc <- p.Start(context.Background())
		}()
		tid = <-tids
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kill() })
	// The premise: the thread that started the process is gone.
	task := filepath.Join("/proc/self/task", strconv.Itoa(tid))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d that started the process still runs after 5s", tid)
		}
	}
	// A parent-death signal would be on its way now; give the kill time to land.
	time.Sleep(300 * time.Millisecond)
	if !p.Running() {
		t.Fatalf("the process died with the thread that started it: %v", p.Exited())
	}
	if err := p.Exited(); err != nil {
		t.Fatalf("Exited() = %v while it runs", err)
	}
}

// TestProcessExitedOnItsOwn: a process that exits by itself is reported with its status and
// the end of its log, which says so too; one stopped by Kill is not.
func TestProcessExitedOnItsOwn(t *testing.T) {
	log := filepath.Join(t.TempDir(), "crash.log")
	p, err := proc.NewProcess("crasher", "sh", []string{"-c", "echo about to fail; sleep 0.1; exit 3"}, nil, 0, log, noWait)
	if err != nil {
		t.Skipf("sh: %v", err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Running() {
		if time.Now().After(deadline) {
			t.Fatal("sh -c 'exit 3' still runs after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	err = p.Exited()
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "about to fail") {
		t.Fatalf("Exited() = %v, want the exit status and the log's tail", err)
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), "crasher") || !strings.Contains(string(b), "exited on its own") {
		t.Errorf("log does not record the exit:\n%s", b)
	}

	// Killed by us: not an exit of its own, and the log says nothing of it.
	qlog := filepath.Join(t.TempDir(), "sleep.log")
	q, _ := proc.NewProcess("sleeper", "sleep", []string{"30"}, nil, 0, qlog, noWait)
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := q.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := q.Exited(); err != nil {
		t.Errorf("Exited() after Kill = %v, want nil", err)
	}
	if b, _ := os.ReadFile(qlog); strings.Contains(string(b), "exited on its own") {
		t.Errorf("a killed process's log says it exited on its own:\n%s", b)
	}
}
