package run

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"stampede/chaos"
	"stampede/checker"
	"stampede/history"
	"stampede/infra"
	"stampede/infra/local"
	"stampede/reports"
	"stampede/server/payments"
	"stampede/workloads"
)

// single is one strategy on one database.
type single struct {
	o        Options
	sc       *workloads.Scenario
	entries  []chaos.Entry
	seed     int64
	strategy string
	db       string
	svc      *infra.Services
	dir      string
	progress *progress

	cleanups []func()
}

func (s *single) run(ctx context.Context) reports.Run {
	r := reports.Run{Strategy: s.strategy, DB: s.db, Target: s.o.Target}
	start := time.Now()
	err := s.execute(ctx, &r)
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	if err != nil {
		r.Error = err.Error()
	}
	r.DurationSeconds = time.Since(start).Seconds()
	return r
}

func (s *single) defer_(f func()) { s.cleanups = append(s.cleanups, f) }

// seedFor derives a stream for a purpose from the run's seed, so every choice repeats.
func (s *single) seedFor(purpose string) (uint64, uint64) {
	h := sha256.Sum256([]byte(fmt.Sprintf("%d/%s/%s/%s", s.seed, s.strategy, s.db, purpose)))
	return binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])
}

func (s *single) execute(ctx context.Context, r *reports.Run) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", s.dir, err)
	}
	a, b := s.seedFor("chaos")
	target := &chaos.Target{Rand: rand.New(rand.NewPCG(a, b))}

	pspURL, psp, err := s.startPSP(ctx)
	if err != nil {
		return err
	}
	target.PSP = pspURL

	base := s.o.Target
	if base == "" {
		if base, err = s.startServer(ctx, target, pspURL); err != nil {
			return err
		}
	}

	sc := *s.sc
	sc.EventPrefix = eventPrefix(sc.Name, s.strategy, s.db)
	hw, err := history.Create(filepath.Join(s.dir, checker.HistoryFile))
	if err != nil {
		return err
	}
	mf, err := os.Create(filepath.Join(s.dir, "metrics.jsonl"))
	if err != nil {
		hw.Close()
		return fmt.Errorf("create metrics: %w", err)
	}
	d, err := workloads.New(workloads.Config{Scenario: &sc, Target: base, Seed: s.seed, History: hw, Metrics: mf,
		Progress: s.o.Progress, CreateEvents: true, Strategy: s.strategy, DB: s.db})
	if err != nil {
		hw.Close()
		mf.Close()
		return err
	}

	// The fault schedule runs beside the herd, on the driver's clock, from the first arrival.
	schedCtx, stopSched := context.WithCancel(ctx)
	var windows []chaos.Window
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		windows = s.schedule(schedCtx, d, target)
	}()
	sum, runErr := d.Run(ctx)
	stopSched() // faults still open recover now; faults not yet due are not injected
	wg.Wait()
	herdEnd := d.Clock().Now()
	if err := hw.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if err := mf.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close metrics: %w", err)
	}
	if runErr != nil {
		return fmt.Errorf("drive: %w", runErr)
	}
	began, _ := d.Began()
	s.progress.printf("   herd done: %d users, %d requests in %.1fs; checking\n", sum.Arrived, sum.Requests, sum.Elapsed.Seconds())

	if proc, ok := target.ServerProc.(*local.Process); ok {
		// A server that died during the herd and was not started again is a finding in itself;
		// nothing after this point could reach it.
		if err := proc.Exited(); err != nil {
			return fmt.Errorf("the reference server died during the run: %w", err)
		}
	}
	if s.o.Target == "" {
		s.settle(ctx, base)
	}

	// Ledgers: what the system believes, and what the processor did.
	ledgers, err := s.fetchLedgers(ctx, base, sc.EventIDs())
	if err != nil {
		return err
	}
	pspLedger, err := fetchPSP(ctx, pspURL)
	if err != nil {
		return err
	}
	_ = psp

	res, err := checker.Check(ctx, checker.Input{
		HistoryPath: filepath.Join(s.dir, checker.HistoryFile),
		Ledgers:     ledgers,
		PSP:         pspLedger,
		Options: checker.Options{ClockSkew: 50 * time.Millisecond, Grace: 2 * time.Second,
			OutDir: s.dir, Timeout: s.o.CheckTimeout, HoldLossFaults: chaos.HoldLosingFaults(),
			PaymentFaults: chaos.PaymentFaults(), CrashFaults: chaos.CrashFaults()},
	})
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if err := writeJSON(filepath.Join(s.dir, "check.json"), res); err != nil {
		return err
	}
	fill(r, sum, res, ledgers, pspLedger, windows, began, herdEnd, s.dir)
	r.Coverage = coverageRows(res.Coverage, s.sc.Coverage)
	if r.Target == "" {
		r.Pool = s.poolStats(ctx, base)
	}
	return nil
}

// eventPrefix makes the scenario's event ids unique per strategy and database, within the
// contract's id pattern.
func eventPrefix(name, strategy, db string) string {
	p := fmt.Sprintf("%s-%s-%s", name, strategy, db)
	if len(p) > 48 {
		p = p[:48]
	}
	return p
}

func (s *single) schedule(ctx context.Context, d *workloads.Driver, target *chaos.Target) []chaos.Window {
	if len(s.entries) == 0 {
		return nil
	}
	// Wait for the herd to begin: offsets count from the first arrival.
	var began time.Duration
	for {
		var ok bool
		if began, ok = d.Began(); ok {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Millisecond):
		}
	}
	entries := make([]chaos.Entry, len(s.entries))
	for i, e := range s.entries {
		e.At += began
		entries[i] = e
	}
	sched := &chaos.Schedule{Entries: entries, Target: target, Clock: d.Clock().Now, Record: annotator{d}}
	ws := sched.Run(ctx)
	for _, w := range ws {
		if w.Err != nil {
			s.progress.printf("   fault %s: %v\n", w.Entry.Fault, w.Err)
		}
	}
	return ws
}

// annotator writes fault records into the driver's history.
type annotator struct{ d *workloads.Driver }

func (a annotator) Write(r *history.Record) error { return a.d.Annotate(r) }

// startPSP runs a fresh payment processor in this process, seeded from the run.
func (s *single) startPSP(ctx context.Context) (string, *payments.Processor, error) {
	addr := s.o.PSPAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("payment processor: listen on %s: %w", addr, err)
	}
	a, _ := s.seedFor("psp")
	p := payments.New(payments.WithSeed(int64(a >> 1)))
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = payments.Serve(pctx, ln, p) // ends when pctx is cancelled at cleanup
	}()
	s.defer_(func() { cancel(); <-done })
	return "http://" + ln.Addr().String(), p, nil
}

// startServer makes a fresh database, empties Redis, puts network proxies in the path when the
// schedule has network faults, and starts the reference server as a child process.
func (s *single) startServer(ctx context.Context, target *chaos.Target, pspURL string) (string, error) {
	admin, err := s.svc.DB(s.db)
	if err != nil {
		return "", err
	}
	dsn := admin
	if s.o.Env == "local" {
		if dsn, err = freshDatabase(ctx, admin, "run_"+strings.NewReplacer("-", "_").Replace(s.strategy)+"_"+s.db); err != nil {
			return "", err
		}
	}
	redisURL := s.svc.RedisURL
	if s.o.Env == "local" && redisURL != "" {
		if err := flushRedis(ctx, redisURL); err != nil {
			return "", err
		}
	}
	target.DB, target.RedisURL, target.Redis = dsn, redisURL, s.svc.Redis

	serverDB, serverRedis, serverPSP := dsn, redisURL, pspURL
	if s.needsProxies() {
		ps := chaos.NewProxies()
		s.defer_(ps.Close)
		target.Proxies = map[string]chaos.Proxy{}
		if serverDB, err = s.proxy(ps, target, "db", dsn); err != nil {
			return "", err
		}
		if redisURL != "" {
			if serverRedis, err = s.proxy(ps, target, "redis", redisURL); err != nil {
				return "", err
			}
		}
		if serverPSP, err = s.proxy(ps, target, "psp", pspURL); err != nil {
			return "", err
		}
	}

	port, err := local.FreePort()
	if err != nil {
		return "", err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	a, _ := s.seedFor("admission")
	args := []string{"serve", "--addr", "127.0.0.1:" + strconv.Itoa(port), "--strategy", s.strategy,
		"--db", serverDB, "--redis", serverRedis, "--psp", serverPSP,
		"--key-prefix", "stampede:" + s.strategy + ":" + s.db + ":",
		"--admission-secret", strconv.FormatUint(a, 16), "--sweep-interval", "500ms", "--log-level", "warn",
		"--checkout-lease", checkoutLease.String(), "--checkout-idle", "3s"}
	if s.sc.HoldTTL > 0 {
		args = append(args, "--hold-ttl", s.sc.HoldTTL.String())
	}
	if s.o.AllowUnsafe {
		args = append(args, "--allow-unsafe")
	}
	// The server reads STAMPEDE_* variables too; give it none but ours.
	proc, err := local.NewProcess("server", s.o.Binary, args, local.EnvWithout("STAMPEDE_"), port,
		filepath.Join(s.dir, "server.log"), local.HTTPReady(base+"/healthz"))
	if err != nil {
		return "", err
	}
	if err := proc.Start(ctx); err != nil {
		return "", fmt.Errorf("start the reference server: %w", err)
	}
	s.defer_(func() { _ = proc.Stop(5 * time.Second) })
	target.Server, target.ServerProc = base, proc
	return base, nil
}

// checkoutLease is the server's checkout lease in runs: longer than any payment a scenario
// slows down, short enough that a crashed server's checkouts are resumed soon after the herd.
const checkoutLease = 10 * time.Second

// settle asks the server to finish every checkout left open (a client that gave up, a server
// that crashed mid-payment) and waits until none is, so the ledgers are compared on settled
// accounts: a charge still in flight is neither booked nor refunded yet. It waits at most the
// checkout lease plus a margin, then lets the checker judge what is left.
func (s *single) settle(ctx context.Context, base string) {
	deadline := time.Now().Add(checkoutLease + 15*time.Second)
	for {
		b, err := post(ctx, base+"/admin/checkout/settle")
		var out struct{ Resumed, Open int }
		if err == nil {
			err = json.Unmarshal(b, &out)
		}
		if err == nil && out.Open == 0 {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.progress.printf("   %d checkouts still open after waiting to settle (%v)\n", out.Open, err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func post(ctx context.Context, u string) ([]byte, error) { return call(ctx, http.MethodPost, u) }

func (s *single) needsProxies() bool {
	for _, e := range s.entries {
		if strings.HasPrefix(e.Fault, "net-") {
			return true
		}
	}
	return false
}

// proxy puts a toxiproxy proxy in front of the service a DSN or URL names and returns the
// same DSN or URL pointing at the proxy.
func (s *single) proxy(ps *chaos.Proxies, target *chaos.Target, name, dsn string) (string, error) {
	host := hostPort(dsn)
	if host == "" {
		return "", fmt.Errorf("proxy %s: no host:port in %q", name, dsn)
	}
	px, err := ps.Start(name, host)
	if err != nil {
		return "", err
	}
	target.Proxies[name] = px
	return strings.Replace(dsn, host, px.Addr(), 1), nil
}

// hostPort finds host:port in a URL (postgres://, redis://, http://) or a MySQL DSN (tcp(...)).
func hostPort(dsn string) string {
	if i := strings.Index(dsn, "tcp("); i >= 0 {
		if j := strings.Index(dsn[i:], ")"); j > 0 {
			return dsn[i+4 : i+j]
		}
	}
	if u, err := url.Parse(dsn); err == nil && u.Host != "" {
		return u.Host
	}
	return ""
}

func flushRedis(ctx context.Context, u string) error {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return fmt.Errorf("redis url: %w", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("empty redis: %w", err)
	}
	return nil
}

func (s *single) fetchLedgers(ctx context.Context, base string, events []string) ([]*checker.Ledger, error) {
	var raws []json.RawMessage
	var out []*checker.Ledger
	for _, id := range events {
		b, err := get(ctx, base+"/admin/ledger?event="+url.QueryEscape(id))
		if err != nil {
			return nil, fmt.Errorf("fetch ledger of %s: %w", id, err)
		}
		var l checker.Ledger
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("decode ledger of %s: %w", id, err)
		}
		raws = append(raws, b)
		out = append(out, &l)
	}
	if err := writeJSON(filepath.Join(s.dir, "ledger.json"), raws); err != nil {
		return nil, err
	}
	return out, nil
}

func fetchPSP(ctx context.Context, pspURL string) (*checker.PSPLedger, error) {
	b, err := get(ctx, pspURL+"/ledger")
	if err != nil {
		return nil, fmt.Errorf("fetch the processor's ledger: %w", err)
	}
	var l checker.PSPLedger
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("decode the processor's ledger: %w", err)
	}
	return &l, nil
}

func get(ctx context.Context, u string) ([]byte, error) { return call(ctx, http.MethodGet, u) }

// call sends a body-less request and returns the body of a 200 answer.
func call(ctx context.Context, method, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, strings.TrimSpace(string(b[:min(len(b), 300)])))
	}
	return b, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// progress prints run progress lines; safe for concurrent use.
type progress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}
