package run

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"stampede/chaos"
	"stampede/checker"
	"stampede/infra"
	"stampede/reports"
	"stampede/server"
	"stampede/sut"
	"stampede/sut/external"
	"stampede/sut/reference"
	"stampede/workloads"
)

// single is one strategy on one database, or the one system given by --target.
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
	// repeat is the run's 1-based repetition of its strategy x database; 0 when not repeated.
	repeat int
}

func (s *single) run(ctx context.Context) reports.Run {
	r := reports.Run{Strategy: s.strategy, DB: s.db, Target: s.o.Target}
	start := time.Now()
	if err := s.execute(ctx, &r); err != nil {
		r.Error = err.Error()
		if ctx.Err() != nil {
			r.Error = "interrupted (Ctrl-C or SIGTERM)"
		}
	}
	r.DurationSeconds = time.Since(start).Seconds()
	return r
}

// seedFor derives a stream for a purpose from the run's seed, so every choice repeats.
func (s *single) seedFor(purpose string) (uint64, uint64) {
	h := sha256.Sum256([]byte(fmt.Sprintf("%d/%s/%s/%s", s.seed, s.strategy, s.db, purpose)))
	return binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])
}

// system is the system under test: the booking system at --target, or the reference server on
// the strategy and database, on a fresh database and Redis when the run owns the services, with
// proxies in its path when the schedule acts on the network.
func (s *single) system() sut.System {
	a, _ := s.seedFor("psp")
	pspSeed := int64(a >> 1)
	if s.o.Target != "" {
		return external.New(s.o.Target, s.o.PSPAddr, external.WithPSPSeed(pspSeed))
	}
	admission, _ := s.seedFor("admission")
	opts := []reference.Option{
		reference.WithLog(filepath.Join(s.dir, "server.log")),
		reference.WithPSPAddr(s.o.PSPAddr),
		reference.WithPSPSeed(pspSeed),
		reference.WithServer(func(o *server.Options) {
			o.HoldTTL, o.AllowUnsafe, o.Failpoints, o.Shadow = s.sc.HoldTTL, s.o.AllowUnsafe, s.o.Failpoints, s.o.Shadow
			o.Gate = s.o.Scanner
			o.AdmissionSecret = []byte(strconv.FormatUint(admission, 16))
			// Checked before the run began (checkServeFlags): it cannot fail here.
			_ = o.ApplyFlags(s.o.ServeFlags, server.RunOwnedFlags)
		}),
	}
	if s.o.Env == "local" {
		opts = append(opts, reference.WithFreshState())
	}
	if needsProxies(s.entries) {
		opts = append(opts, reference.WithProxies())
	}
	return reference.New(s.o.Binary, s.svc, s.strategy, s.db, opts...)
}

// execute starts the system, drives the herd with the fault schedule beside it, settles,
// reads both ledgers, checks, and fills r.
func (s *single) execute(ctx context.Context, r *reports.Run) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", s.dir, err)
	}
	sys := s.system()
	if err := sys.Start(ctx); err != nil {
		return err
	}
	defer func() {
		if err := sys.Stop(context.WithoutCancel(ctx)); err != nil {
			s.progress.printf("   stop: %v\n", err)
		}
	}()

	sc := *s.sc
	sc.EventPrefix = eventPrefix(sc.Name, s.strategy, s.db, s.repeat)
	a, b := s.seedFor("chaos")
	target := &chaos.Target{Handles: sys.Handles(), Rand: rand.New(rand.NewPCG(a, b))}
	herd := s.herd
	if s.o.Shards > 0 {
		herd = s.shardedHerd
	}
	h, err := herd(ctx, &sc, sys.URL(), target)
	if err != nil {
		return err
	}
	s.progress.printf("   herd done: %d users, %d requests in %.1fs; checking\n", h.sum.Arrived, h.sum.Requests, h.sum.Elapsed.Seconds())
	if s.o.Verbose {
		var b strings.Builder
		if err := h.sum.WriteText(&b); err != nil {
			return err
		}
		s.progress.printf("%s", indent(b.String()))
	}

	if err := sys.Settle(ctx); errors.Is(err, sut.ErrUnsettled) {
		s.progress.printf("   %v\n", err)
	} else if err != nil {
		return err
	}
	var shadow *reports.Shadow
	if s.o.Shadow != "" {
		if shadow, err = shadowReport(ctx, sut.Server{URL: sys.URL(), Token: sys.Handles().AdminToken}); err != nil {
			return err
		}
		s.progress.printf("   %s\n", shadow.Line())
	}
	// Ledgers: what the system believes, and what the processor did.
	ledgers, err := sys.Ledgers(ctx, sc.EventIDs())
	if err != nil {
		return err
	}
	if err := ledgers.WriteDir(s.dir); err != nil {
		return err
	}
	opts := checker.DefaultOptions()
	opts.OutDir = s.dir
	opts.HoldLossFaults = chaos.HoldLosingFaults()
	opts.PaymentFaults = chaos.PaymentFaults()
	opts.CrashFaults = chaos.CrashFaults()
	if s.o.CheckTimeout > 0 {
		opts.Timeout = s.o.CheckTimeout
	}
	res, err := checker.Check(ctx, checker.Input{
		HistoryPath: filepath.Join(s.dir, checker.HistoryFile),
		Ledgers:     ledgers.Server,
		PSP:         ledgers.PSP,
		Options:     opts,
	})
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if err := writeJSON(filepath.Join(s.dir, "check.json"), res); err != nil {
		return err
	}
	if s.o.Verbose {
		var b strings.Builder
		if err := res.WriteTable(&b); err != nil {
			return err
		}
		s.progress.printf("%s", indent(b.String()))
	}
	fill(r, h.sum, res, ledgers.Server, ledgers.PSP, h.windows, h.began, h.end, s.dir)
	r.Coverage = coverageRows(res.Coverage, s.sc.Coverage.Merge(s.o.RequireCoverage))
	r.Shadow = shadow
	if s.o.Target != "" {
		r.TargetNotes = targetNotes(s.sc.HoldTTL, &res)
		for _, n := range r.TargetNotes {
			s.progress.printf("   %s\n", n)
		}
	}
	if r.Target == "" {
		r.Pool = poolStats(ctx, sut.Server{URL: sys.URL(), Token: sys.Handles().AdminToken})
	}
	return nil
}

// eventPrefix makes the scenario's event ids unique per strategy, database and repetition
// (1-based; 0 when not repeated), within the contract's id pattern.
func eventPrefix(name, strategy, db string, repeat int) string {
	suffix := ""
	if repeat > 0 {
		suffix = fmt.Sprintf("-r%d", repeat)
	}
	p := fmt.Sprintf("%s-%s-%s", name, strategy, db)
	if len(p)+len(suffix) > 48 {
		p = p[:48-len(suffix)]
	}
	return p + suffix
}

// needsProxies says whether the schedule has network faults, which act on proxies in the
// server's path.
func needsProxies(entries []chaos.Entry) bool {
	for _, e := range entries {
		if strings.HasPrefix(e.Fault, "net-") {
			return true
		}
	}
	return false
}

// indent puts text under a run's progress lines.
func indent(text string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("     " + line)
		}
		b.WriteString("\n")
	}
	return b.String()
}
