package local_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"stampede/infra/local"
	"stampede/internal/proc"
	"stampede/internal/testsvc"
)

// helperEnv makes the test binary act as a stampede process that starts services and then
// waits to be killed.
const helperEnv = "STAMPEDE_LOCAL_TEST_HELPER"

// TestServicesDieWithStampede kills (SIGKILL, no teardown) a process that started PostgreSQL
// and Redis, and checks that they and their children die with it.
func TestServicesDieWithStampede(t *testing.T) {
	if dir := os.Getenv(helperEnv); dir != "" {
		helper(dir)
		return
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestServicesDieWithStampede$", "-test.v=false")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // killed below on the normal path

	// The helper prints "pids P1 P2 ..." once its services run, or "error ...".
	var family []int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if msg, ok := strings.CutPrefix(line, "error "); ok {
			if strings.Contains(msg, "not found in PATH") {
				testsvc.Unavailable(t, msg)
			}
			t.Fatalf("helper: %s", msg)
		}
		if rest, ok := strings.CutPrefix(line, "pids "); ok {
			for _, f := range strings.Fields(rest) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("helper printed %q", line)
				}
				family = append(family, pid)
			}
			break
		}
	}
	if len(family) < 3 {
		t.Fatalf("helper reported processes %v, want PostgreSQL's and Redis's", family)
	}
	if r := proc.Alive(family); len(r) != len(family) {
		t.Fatalf("of the helper's processes %v only %v run before the kill", family, r)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill helper: %v", err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for len(proc.Alive(family)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v still run 20s after the process that started them died", proc.Alive(family))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func helper(dir string) {
	ctx := context.Background()
	pg, _, err := local.StartPostgres(ctx, dir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	rd, err := proc.StartRedis(ctx, dir)
	if err != nil {
		fmt.Println("error", err)
		_ = pg.Kill()
		os.Exit(1)
	}
	pids := append(proc.Family(pg.Pid()), proc.Family(rd.Pid())...)
	fmt.Println("pids", strings.Trim(fmt.Sprint(pids), "[]"))
	// Wait to be killed; a parent that died meanwhile ends the wait too, and so does a minute.
	for end := time.Now().Add(time.Minute); syscall.Getppid() != 1 && time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
	}

}
