package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Task is a program of stampede's own run to its end beside others (a shard's driver), unlike
// a Process, which serves until it is stopped: in a process group of its own, getting SIGKILL
// when stampede dies (Pdeathsig), its output appended to a log. It is safe for concurrent use.
type Task struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done is closed
}

// StartTask starts bin with args and env (nil inherits stampede's), its stdout and stderr
// appended to logPath, and returns at once.
func StartTask(name, bin string, args, env []string, logPath string) (*Task, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr(nil)
	if err := spawn(cmd); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, filepath.Base(bin), err)
	}
	t := &Task{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		t.err = cmd.Wait()
		logf.Close()
		close(t.done)
	}()
	return t, nil
}

// Done is closed when the task has ended.
func (t *Task) Done() <-chan struct{} { return t.done }

// ExitCode is the task's exit status once Done is closed: -1 when a signal ended it.
func (t *Task) ExitCode() int {
	<-t.done
	return t.cmd.ProcessState.ExitCode()
}

// Failure says how the task ended, with the end of its log, for a task that did not end as
// its caller wanted.
func (t *Task) Failure() error {
	<-t.done
	return fmt.Errorf("%s (pid %d) ended with %s; see %s%s", t.name, t.cmd.Process.Pid, exitText(t.cmd, t.err), t.log, logTail(t.log))
}

// Interrupt asks the task to stop as Ctrl-C does (SIGINT to its process group); a task that
// has ended is left alone.
func (t *Task) Interrupt() error {
	select {
	case <-t.done:
		return nil
	default:
	}
	if err := syscall.Kill(-t.cmd.Process.Pid, syscall.SIGINT); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("interrupt %s: %w", t.name, err)
	}
	return nil
}
