package waitingroom

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/internal/proc"
	"stampede/strategies"
)

// BenchmarkWaitingRoom measures the waiting room at on-sale scale: 100,000 sessions queued for
// one event, 10,000 of them holding an open SSE stream, the admitter running at 500/s. The
// server runs in a child process (this test binary, re-executed), so its resident memory is its
// own. It reports:
//
//	server_rss_MB       the server's resident memory with every stream open (VmRSS)
//	server_peak_rss_MB  its peak resident memory over the run (VmHWM)
//	admit_err_%         (admitted - rate x span) / (rate x span), over the span from the first
//	                    admission step to the first step 10 s or more later
//	max_step_gap_ms     the longest pause between two admission steps in that span
//	server_cpu_%        the server's CPU time over that span (100 = one core)
//	status_p50_ms, status_p99_ms
//	                    latency of GET /queue/{ticket} measured during admission, 8 clients
//	status_idle_p99_ms  the same before any stream was open and with admission paused: the
//	                    machine's baseline in the same run
//	streams_admitted    streams that received their `admitted` event (all that were admitted)
//
// The setup takes about a minute; run it once: go test -run '^$' -bench WaitingRoom
// -benchtime 1x ./server/waitingroom/. With -short it uses 10,000 sessions and 1,000 streams.
// STAMPEDE_WR_BENCH_CPUPROFILE=file writes the server's CPU profile there.
func BenchmarkWaitingRoom(b *testing.B) {
	sessions, streams := 100_000, 10_000
	if testing.Short() {
		sessions, streams = 10_000, 1_000
	}
	const (
		rate   = 500.0
		window = 10 * time.Second
	)
	raiseFileLimit(b)
	e := newTestEnv(b)
	srv := startBenchServer(b, e)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()

	// 1. Everybody joins while admission is paused.
	start := time.Now()
	tickets := make([]string, sessions)
	parallel(b, 32, sessions, func(i int) error {
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.url+"/events/onsale/queue", nil)
		req.Header.Set("X-Session-Id", benchSession(i))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var st queueStatus
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("join %d: status %d, %v", i, resp.StatusCode, err)
		}
		if st.Position < 1 || st.Position > int64(sessions) {
			return fmt.Errorf("join %d: position %d", i, st.Position)
		}
		tickets[i] = st.Ticket
		return nil
	})
	b.Logf("%d joins in %v", sessions, time.Since(start).Round(time.Millisecond))

	// The same status requests with nothing else going on, as the machine's baseline.
	stopIdle := sampleStatus(b, client, srv.url, tickets)
	time.Sleep(3 * time.Second) // the sampling period
	idle := stopIdle()

	// 2. Every (sessions/streams)-th session opens a stream, spread over the whole queue.
	start = time.Now()
	step := sessions / streams
	clients := make([]*benchStream, streams)
	parallel(b, 100, streams, func(i int) error {
		c, err := openBenchStream(srv.addr, tickets[i*step], benchSession(i*step))
		clients[i] = c
		return err
	})
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.conn.Close()
			}
		}
	}()
	b.Logf("%d streams open in %v", streams, time.Since(start).Round(time.Millisecond))
	rss, _ := procMemory(b, srv.cmd.Process.Pid)

	// 3. Admission at rate; GET /queue/{ticket} sampled meanwhile.
	adm := e.rdb
	setRate(b, client, srv.url, rate)
	stopSampling := sampleStatus(b, client, srv.url, tickets)
	b.ResetTimer()
	cpu0, wall0 := procCPU(b, srv.cmd.Process.Pid), time.Now()
	times := waitAdmissions(b, adm, window)
	cpu := (procCPU(b, srv.cmd.Process.Pid) - cpu0).Seconds() / time.Since(wall0).Seconds() * 100
	b.StopTimer()
	lat := stopSampling()
	setRate(b, client, srv.url, 0)

	m, ok := wrMeasureRate(times, window)
	if !ok {
		b.Fatalf("no admission step %v after the first", window)
	}
	admitted, admitErr := m.n, m.errorPct(rate)
	t0 := times[0]
	// The longest pause between two admission steps in the window: a pause longer than the
	// burst cap (1 s of the rate) loses budget.
	var maxGap int64
	for i := 1; i < len(times); i++ {
		if times[i] <= t0+m.span.Milliseconds() {
			maxGap = max(maxGap, times[i]-times[i-1])
		}
	}

	// 4. Every stream whose session was admitted got its admitted event (a few ticks later).
	admittedSet := map[string]bool{}
	keys, err := adm.HKeys(ctx, "t:wr:onsale:adm").Result()
	if err != nil {
		b.Fatalf("read admitted: %v", err)
	}
	for _, k := range keys {
		admittedSet[k] = true
	}
	expect := 0
	for i := range clients {
		if admittedSet[benchSession(i*step)] {
			expect++
		}
	}
	admittedStreams := 0
	for deadline := time.Now().Add(5 * time.Second); ; {
		admittedStreams = 0
		for i, c := range clients {
			if c.admitted.Load() {
				admittedStreams++
				if !admittedSet[benchSession(i*step)] {
					b.Errorf("stream of %s received admitted, but the session is not admitted", benchSession(i*step))
				}
			}
		}
		if admittedStreams >= expect || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // waiting for stream events in flight
	}
	if admittedStreams != expect {
		b.Errorf("%d streams received admitted, want %d", admittedStreams, expect)
	}
	_, peak := procMemory(b, srv.cmd.Process.Pid)

	p := func(q float64) float64 { return quantileMS(lat, q) }
	b.ReportMetric(float64(rss)/(1<<20), "server_rss_MB")
	b.ReportMetric(float64(peak)/(1<<20), "server_peak_rss_MB")
	b.ReportMetric(admitErr, "admit_err_%")
	b.ReportMetric(p(0.5), "status_p50_ms")
	b.ReportMetric(p(0.99), "status_p99_ms")
	b.ReportMetric(quantileMS(idle, 0.99), "status_idle_p99_ms")
	b.ReportMetric(float64(admittedStreams), "streams_admitted")
	b.ReportMetric(float64(maxGap), "max_step_gap_ms")
	b.ReportMetric(cpu, "server_cpu_%")
	b.Logf("sessions %d, streams %d: admitted %d in %v at %v/s (%.2f%%); %d status requests, p50 %.2f ms, p99 %.2f ms (idle p99 %.2f ms); server RSS %.1f MB, peak %.1f MB; %d streams admitted",
		sessions, streams, admitted, m.span, rate, admitErr, len(lat), p(0.5), p(0.99), quantileMS(idle, 0.99), float64(rss)/(1<<20), float64(peak)/(1<<20), admittedStreams)
}

// sampleStatus sends GET /queue/{ticket} for spread-out tickets from 8 clients until the
// returned function is called; that returns every latency, sorted.
func sampleStatus(tb testing.TB, client *http.Client, base string, tickets []string) func() []time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		lat []time.Duration
		mu  sync.Mutex
		wg  sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			var mine []time.Duration
			for i := w; ctx.Err() == nil; i += 8 {
				n := (i * 7919) % len(tickets)
				req, _ := http.NewRequest("GET", base+"/queue/"+tickets[n], nil)
				req.Header.Set("X-Session-Id", benchSession(n))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					tb.Errorf("status: %v", err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					tb.Errorf("status of %s: %d", benchSession(n), resp.StatusCode)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	return func() []time.Duration {
		cancel()
		wg.Wait()
		slices.Sort(lat)
		return lat
	}
}

// quantileMS is the q quantile of sorted latencies, in milliseconds.
func quantileMS(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(float64(len(sorted)-1)*q)].Microseconds()) / 1000
}

func benchSession(i int) string { return "bench-" + strconv.Itoa(i) }

// waitAdmissions waits until admissions cover window after the first one and returns every
// admission time (Redis clock, unix ms), sorted.
func waitAdmissions(tb testing.TB, rdb *redis.Client, window time.Duration) []int64 {
	tb.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(window + time.Minute); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond) // polling the server's progress
		vals, err := rdb.HVals(ctx, "t:wr:onsale:adm").Result()
		if err != nil {
			tb.Fatalf("read admissions: %v", err)
		}
		if len(vals) == 0 {
			continue
		}
		times := make([]int64, len(vals))
		for i, v := range vals {
			times[i], _ = strconv.ParseInt(v, 10, 64)
		}
		slices.Sort(times)
		now, err := rdb.Time(ctx).Result()
		if err != nil {
			tb.Fatalf("TIME: %v", err)
		}
		if _, ok := wrMeasureRate(times, window); ok && now.UnixMilli() > times[0]+window.Milliseconds()+100 {
			return times
		}
	}
	tb.Fatalf("admissions did not cover %v", window)
	return nil
}

func setRate(tb testing.TB, c *http.Client, base string, rate float64) {
	tb.Helper()
	req, _ := http.NewRequest("PUT", base+"/admin/events/onsale/waiting-room", strings.NewReader(fmt.Sprintf(`{"admit_per_second": %g}`, rate)))
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("set rate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("set rate: status %d", resp.StatusCode)
	}
}

// parallel runs fn(0..n-1) on workers goroutines and fails tb on the first error.
func parallel(tb testing.TB, workers, n int, fn func(i int) error) {
	tb.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Value
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || first.Load() != nil {
					return
				}
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		tb.Fatalf("%v", err)
	}
}

// benchStream is one raw SSE client: a TCP connection and a goroutine that notes the admitted
// event. It keeps its buffers small, so the benchmark process holds 10,000 of them cheaply.
type benchStream struct {
	conn     net.Conn
	admitted atomic.Bool
}

func openBenchStream(addr, ticket, session string) (*benchStream, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(conn, "GET /queue/%s/stream HTTP/1.1\r\nHost: bench\r\nX-Session-Id: %s\r\n\r\n", ticket, session); err != nil {
		conn.Close()
		return nil, err
	}
	r := bufio.NewReaderSize(conn, 512)
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	status, err := r.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		conn.Close()
		return nil, fmt.Errorf("stream %s: %q %v", session, status, err)
	}
	// Wait for the first position event, so the stream is registered before measuring.
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("stream %s: %w", session, err)
		}
		if bytes.Contains(line, []byte("event: position")) {
			break
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	s := &benchStream{conn: conn}
	go func() {
		for {
			line, err := r.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				return
			}
			if bytes.Contains(line, []byte("event: admitted")) {
				s.admitted.Store(true)
			}
		}
	}()
	return s, nil
}

// benchServer is the server under measurement, in a child process.
type benchServer struct {
	cmd       *exec.Cmd
	addr, url string
}

const benchServerEnv = "STAMPEDE_WR_BENCH_SERVER"

func startBenchServer(tb testing.TB, e *testEnv) *benchServer {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWaitingRoomBenchServer$", "-test.v")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1", "STAMPEDE_WR_BENCH_REDIS="+proc.RedisURL(e.redis))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("stdout: %v", err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start server: %v", err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return &benchServer{cmd: cmd, addr: addr, url: "http://" + addr}
		}
	}
	tb.Fatalf("server exited before listening: %v", sc.Err())
	return nil
}

// TestWaitingRoomBenchServer is the child process of BenchmarkWaitingRoom: a Room behind the
// waiting room's routes on the benchmark's Redis, with the event "onsale" (admission paused),
// until its stdin closes. It does nothing in a normal test run.
func TestWaitingRoomBenchServer(t *testing.T) {
	if os.Getenv(benchServerEnv) != "1" {
		t.Skip("the server process of BenchmarkWaitingRoom")
	}
	raiseFileLimit(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opt, err := redis.ParseURL(os.Getenv("STAMPEDE_WR_BENCH_REDIS"))
	if err != nil {
		t.Fatalf("redis url: %v", err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	e := &testEnv{rdb: rdb, events: &testEvents{m: map[string]strategies.Event{}}}
	e.event(t, "onsale", &strategies.WaitingRoom{Enabled: true, AdmitPerSecond: 0})
	s := e.room(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	runDone := make(chan error, 1)
	go func() { runDone <- s.Run(ctx) }()
	if path := os.Getenv("STAMPEDE_WR_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatalf("cpu profile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatalf("cpu profile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	<-runDone
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = hs.Shutdown(sctx)
}

// procCPU returns the user and system CPU time a process has used.
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatalf("read process stat: %v", err)
	}
	// Fields after the command name (which may hold spaces) start at state; utime and stime
	// are the 14th and 15th fields of the line, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// procMemory returns a process's resident memory now and at its peak, in bytes.
func procMemory(tb testing.TB, pid int) (rss, peak int64) {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatalf("read process status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak
}

// raiseFileLimit lifts RLIMIT_NOFILE to its hard limit: 10,000 streams need as many sockets.
func raiseFileLimit(tb testing.TB) {
	tb.Helper()
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		tb.Fatalf("getrlimit: %v", err)
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		tb.Fatalf("setrlimit: %v", err)
	}
}
