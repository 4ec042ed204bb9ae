// Command drivebench runs stampede's driver against a target for the benchmark script
// (bench/driver.sh) and prints one line of figures. In `rate` mode it keeps a fixed number of
// users busy with back-to-back page views (like wrk's connections) and reports completed
// requests per second; in `herd` mode it plays a scenario file and reports the driver's peak
// resident memory.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"stampede/history"
	"stampede/workloads"
)

func main() {
	mode := flag.String("mode", "rate", "rate or herd")
	target := flag.String("target", "", "base URL")
	dur := flag.Duration("duration", 10*time.Second, "rate mode: how long to keep the users busy")
	users := flag.Int("users", 64, "rate mode: users busy at once")
	scenario := flag.String("scenario", "", "herd mode: scenario file")
	out := flag.String("out", "", "directory for history.jsonl and metrics.jsonl (empty: write the history to a discarding writer)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address during the run")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { log.Print(http.ListenAndServe(*pprofAddr, nil)) }()
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if *target == "" {
		log.Fatal("drivebench: --target is required")
	}
	var sc *workloads.Scenario
	var err error
	cfg := workloads.Config{Target: *target, RunID: "bench", CreateEvents: true}
	switch *mode {
	case "rate":
		// Each user views 100 pages back to back; users arrive faster than they finish (five
		// times the user count a second keeps them busy up to ~30k requests/s), and MaxActive
		// keeps exactly `users` of them busy (the rest are dropped, not queued).
		src := fmt.Sprintf(`name: bench
inventory: {sections: 1, rows: 1, seats_per_row: 10}
arrivals: {profile: constant, rate: %d/s, duration: %s}
users: [{flow: browse, pages: 100}]
request_timeout: 10s
`, *users*5, dur.String())
		sc, err = workloads.Parse("bench.yaml", []byte(src))
		cfg.MaxActive = *users
		cfg.MaxConns = *users
	case "herd":
		sc, err = workloads.Load(*scenario)
	default:
		err = fmt.Errorf("mode %q is not rate or herd", *mode)
	}
	if err != nil {
		log.Fatal(err)
	}
	cfg.Scenario = sc
	if *out != "" {
		cfg.OutDir = *out
	} else {
		cfg.History = history.NewWriter(discard{})
		cfg.Metrics = discard{}
	}
	cfg.Progress = os.Stderr
	start := time.Now()
	sum, err := workloads.Run(context.Background(), cfg)
	if err != nil {
		log.Print(err)
		return
	}
	wall := time.Since(start)
	rss := peakRSS()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "go memory: heap sys %.0f MiB, stack sys %.0f MiB, gc cycles %d\n",
		float64(ms.HeapSys)/(1<<20), float64(ms.StackSys)/(1<<20), ms.NumGC)
	switch *mode {
	case "rate":
		fmt.Printf("requests %d elapsed %.2fs rate %.0f req/s ok %d fail %d info %d p99 %s peak_rss_mib %.0f\n",
			sum.Requests, sum.Elapsed.Seconds(), sum.Throughput, sum.Outcomes.Ok, sum.Outcomes.Fail, sum.Outcomes.Info,
			sum.Ops["browse"].Actual.P99, rss)
	default:
		fmt.Printf("users %d arrived %d dropped %d finished %d requests %d wall %.1fs rate %.0f req/s ok %d fail %d info %d max_lag %s peak_rss_mib %.0f\n",
			sum.Users, sum.Arrived, sum.Dropped, sum.Finished, sum.Requests, wall.Seconds(), sum.Throughput,
			sum.Outcomes.Ok, sum.Outcomes.Fail, sum.Outcomes.Info, sum.MaxLag, rss)
		_ = sum.WriteText(os.Stderr)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// peakRSS reads the process's peak resident set (VmHWM) in MiB from /proc, or -1.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%f", &kb)
			return kb / 1024
		}
	}
	return -1
}
