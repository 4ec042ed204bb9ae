package proc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a service process stampede started. It can be killed (SIGKILL), paused
// (SIGSTOP), resumed (SIGCONT) and started again on the same port with the same files, which is
// what chaos faults need (it is a sut.Killer, sut.Pauser and sut.Restarter). It is safe for
// concurrent use.
//
// Every process runs in a process group of its own, and Kill, Pause and Resume signal it and
// every process it started: PostgreSQL serves each connection from a forked backend, so
// stopping only the postmaster would leave open connections answering. Finding those children
// reads /proc, so the package is for Linux. Each process gets SIGKILL when the
// stampede process dies (Pdeathsig), so an interrupted run leaves no service behind.
type Process struct {
	name string
	bin  string
	args []string
	dir  string
	port int
	log  string
	// cred, when set, runs the process as that user (PostgreSQL refuses to run as root).
	cred *syscall.Credential
	// env is the process environment; nil inherits stampede's.
	env []string
	// stopSig asks the process to shut down cleanly; zero means SIGTERM.
	stopSig syscall.Signal
	// ready waits until the freshly started process accepts work.
	ready func(ctx context.Context) error

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Config describes a service process: what to run, where, and how to tell it is ready.
type Config struct {
	// Name is the service's name (redis, postgres, mariadb, server), for messages and Name.
	Name string
	// Bin is the executable's path; Args its arguments.
	Bin  string
	Args []string
	// Dir is the working directory; empty means stampede's.
	Dir string
	// Env is the process environment; nil inherits stampede's.
	Env []string
	// Port is the loopback port the process listens on (Addr); 0 when it listens on none.
	Port int
	// Log receives the process's output, appended across restarts.
	Log string
	// Credential, when set, runs the process as that user (PostgreSQL refuses to run as root).
	Credential *syscall.Credential
	// StopSignal asks the process to shut down cleanly (Stop); zero means SIGTERM.
	StopSignal syscall.Signal
	// Ready reports whether a freshly started process accepts work; Start polls it.
	Ready func(ctx context.Context) error
}

// New describes the process c; nothing runs until Start.
func New(c Config) *Process {
	return &Process{name: c.Name, bin: c.Bin, args: c.Args, dir: c.Dir, port: c.Port, log: c.Log,
		cred: c.Credential, env: c.Env, stopSig: c.StopSignal, ready: c.Ready}
}

// Port is the loopback port the process listens on. It stays the same across restarts.
func (p *Process) Port() int { return p.port }

// Addr is host:port on loopback.
func (p *Process) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// Name is the service name (redis, postgres, mariadb or mysql).
func (p *Process) Name() string { return p.name }

// Pid is the running process id (the leader of its process group), 0 when stopped.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Start launches the process and waits until it is ready, at most 60 seconds. A process that
// exits before it is ready gives an error naming its log file.
func (p *Process) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: already running", p.name)
	}
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Env = p.env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr(p.cred)
	if err := spawn(cmd); err != nil {
		logf.Close()
		p.mu.Unlock()
		return fmt.Errorf("start %s (%s): %w", p.name, p.bin, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait() // exit status is expected to be non-zero after a kill
		p.mu.Lock()
		own := p.cmd == cmd // not stopped by Kill, Stop or Restart: it exited on its own
		p.mu.Unlock()
		if own {
			// Say so in its log, where whoever finds it gone will look.
			fmt.Fprintf(logf, "stampede: %s (pid %d) exited on its own at %s: %v\n", p.name, cmd.Process.Pid,
				time.Now().Format(time.RFC3339Nano), exitText(cmd, err))
		}
		logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()

	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		err := p.ready(rctx)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			p.mu.Lock()
			if p.cmd == cmd {
				p.cmd = nil
			}
			p.mu.Unlock()
			return fmt.Errorf("start %s: exited early; see %s%s", p.name, p.log, logTail(p.log))
		case <-rctx.Done():
			_ = p.Kill()
			return fmt.Errorf("start %s: not ready (%v); see %s%s", p.name, err, p.log, logTail(p.log))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// exitText says how a process ended.
func exitText(cmd *exec.Cmd, err error) string {
	if cmd.ProcessState != nil {
		return cmd.ProcessState.String()
	}
	if err != nil {
		return err.Error()
	}
	return "exit status 0"
}

// spawns carries process starts to the one goroutine that makes them (spawn).
var (
	spawns    = make(chan func())
	spawnOnce sync.Once
)

// spawn starts cmd from a goroutine locked to an OS thread that lives as long as stampede. The
// parent-death signal (Pdeathsig) fires when the thread that started a child exits, not the
// process: started by a goroutine locked to its thread that then ends (the runtime retires such
// threads), a service would be killed in the middle of a run.
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread stays for the process's life
			for f := range spawns {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawns <- func() { errc <- cmd.Start() }
	return <-errc
}

// sysProcAttr puts a child in its own process group (so a Ctrl-C to stampede does not reach it
// before teardown), kills it when stampede dies, and runs it as cred when set. Go sets the
// parent-death signal after changing credentials, which matters: a credential change clears it.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// detach takes the running command (nil when stopped) and the channel closed when it exits:
// from then on its end is ours, not an exit of its own (Exited).
func (p *Process) detach() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	return cmd, done
}

// Kill sends SIGKILL to the process and every process it started, and waits until the
// leader has exited and none of the others is running (at most 10 seconds for those). Killing
// a stopped process is a no-op.
func (p *Process) Kill() error {
	cmd, done := p.detach()
	if cmd == nil {
		return nil
	}
	family := signalFamily(cmd.Process.Pid, syscall.SIGKILL)
	<-done
	if err := waitGone(family, 10*time.Second); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	return nil
}

// Stop asks the process to shut down cleanly (SIGINT for PostgreSQL's fast shutdown, SIGTERM
// for the others) and kills what is left of it after timeout.
func (p *Process) Stop(timeout time.Duration) error {
	cmd, done := p.detach()
	if cmd == nil {
		return nil
	}
	pid := cmd.Process.Pid
	sig := p.stopSig
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	signalFamily(pid, syscall.SIGCONT) // a paused process cannot shut down
	family := Family(pid)
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(timeout):
		family = signalFamily(pid, syscall.SIGKILL)
		<-done
	}
	if err := waitGone(family, 10*time.Second); err != nil {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	return nil
}

// Pause sends SIGSTOP to the process and every process it started: the service keeps its
// sockets, lets TCP connections queue in the listen backlog, and answers nothing until Resume.
func (p *Process) Pause() error { return p.signal(syscall.SIGSTOP) }

// Resume sends SIGCONT to the process and every process it started.
func (p *Process) Resume() error { return p.signal(syscall.SIGCONT) }

func (p *Process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("signal %s: not running", p.name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	signalFamily(p.cmd.Process.Pid, sig)
	return nil
}

// Restart kills the process and starts it again on the same port with the same files:
// PostgreSQL and MariaDB keep their data (crash recovery runs), Redis keeps nothing and comes
// back empty.
func (p *Process) Restart(ctx context.Context) error {
	if err := p.Kill(); err != nil {
		return err
	}
	return p.Start(ctx)
}

// signalFamily sends sig to leader, its process group and its descendants, and returns the
// pids it signalled. A process group is not enough: PostgreSQL puts every backend in a session
// of its own (setsid), so only the parent links find them. For SIGSTOP and SIGKILL the leader
// is stopped first, so it cannot start a child the scan would miss.
func signalFamily(leader int, sig syscall.Signal) []int {
	if sig == syscall.SIGKILL || sig == syscall.SIGSTOP {
		_ = syscall.Kill(leader, syscall.SIGSTOP)
	}
	family := Family(leader)
	for _, pid := range family {
		if sig == syscall.SIGKILL {
			_ = syscall.Kill(pid, syscall.SIGCONT) // a stopped process is reaped sooner when continued
		}
		_ = syscall.Kill(pid, sig)
	}
	_ = syscall.Kill(-leader, sig)
	return family
}

// waitGone waits until none of pids is running. Zombies count as gone: they hold no sockets or
// shared memory, and the machine's init may never reap orphans.
func waitGone(pids []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		alive := Alive(pids)
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still running after %v", alive, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procInfo is what /proc/PID/stat says about a process.
type procInfo struct {
	ppid, pgrp int
	state      string
}

// readProc reads /proc/PID/stat; ok is false when the process is gone.
func readProc(pid int) (procInfo, bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procInfo{}, false
	}
	// The command name is in parentheses and may hold anything; the fields follow the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 3 {
		return procInfo{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	pgrp, _ := strconv.Atoi(f[2])
	return procInfo{ppid: ppid, pgrp: pgrp, state: f[0]}, true
}

// Alive returns those of pids that exist and are not zombies.
func Alive(pids []int) []int {
	var out []int
	for _, pid := range pids {
		if info, ok := readProc(pid); ok && info.state != "Z" && info.state != "X" {
			out = append(out, pid)
		}
	}
	return out
}

// Family lists leader, the members of its process group and its descendants that are running,
// from /proc: the processes a kill of leader's family reaches.
func Family(leader int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return Alive([]int{leader})
	}
	procs := map[int]procInfo{}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if info, ok := readProc(pid); ok && info.state != "Z" && info.state != "X" {
			procs[pid] = info
			children[info.ppid] = append(children[info.ppid], pid)
		}
	}
	seen := map[int]bool{}
	var out []int
	var walk func(pid int)
	walk = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		if _, ok := procs[pid]; ok {
			out = append(out, pid)
		}
		for _, c := range children[pid] {
			walk(c)
		}
	}
	walk(leader)
	for pid, info := range procs {
		if info.pgrp == leader {
			walk(pid)
		}
	}
	sort.Ints(out)
	return out
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FindBinary looks for name in PATH and then in dirs (globs allowed; among several matches the
// highest version wins), returning a *MissingBinaryError that names the package to install
// when it is nowhere.
func FindBinary(name, pkg string, dirs ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range dirs {
		matches, _ := filepath.Glob(filepath.Join(d, name))
		sortNewestFirst(matches)
		for _, m := range matches {
			if Executable(m) {
				return m, nil
			}
		}
	}
	return "", &MissingBinaryError{Binary: name, Package: pkg}
}

// Executable reports whether path is a regular file with an execute bit.
func Executable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// sortNewestFirst orders paths by the numbers in them, highest first, so that
// /usr/lib/postgresql/16/bin comes before /usr/lib/postgresql/9.6/bin.
func sortNewestFirst(paths []string) {
	sort.SliceStable(paths, func(i, j int) bool {
		a, b := numbers(paths[i]), numbers(paths[j])
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] > b[k]
			}
		}
		return len(a) > len(b)
	})
}

func numbers(s string) []int {
	var out []int
	n, in := 0, false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n, in = n*10+int(r-'0'), true
			continue
		}
		if in {
			out = append(out, n)
		}
		n, in = 0, false
	}
	if in {
		out = append(out, n)
	}
	return out
}

// logTail returns the last lines of a log file, prefixed for an error message, or "".
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return ":\n  " + strings.Join(lines, "\n  ")
}

// MissingBinaryError says which binary is missing and what to install.
type MissingBinaryError struct {
	Binary  string
	Package string
}

func (e *MissingBinaryError) Error() string {
	return fmt.Sprintf("%s not found in PATH or the usual places; install it (Debian: apt-get install %s; macOS: brew install %s)",
		e.Binary, e.Package, brewName(e.Package))
}

// brewName is the Homebrew formula for a Debian package name.
func brewName(pkg string) string {
	switch pkg {
	case "redis-server":
		return "redis"
	case "mariadb-server":
		return "mariadb"
	}
	return pkg
}
