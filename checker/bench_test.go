package checker

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/history"
)

// benchSeats is the venue of the benchmarks: 100k seats, the front 1% wanted by 40% of buyers.
const benchSeats = 100000

var benchFiles struct {
	sync.Mutex
	dir   string
	paths map[int]string
}

// benchHistory writes (once per process) a simulated history of n operations over benchSeats
// seats and returns its path.
func benchHistory(b *testing.B, n int) string {
	b.Helper()
	benchFiles.Lock()
	defer benchFiles.Unlock()
	if p, ok := benchFiles.paths[n]; ok {
		return p
	}
	if benchFiles.dir == "" {
		dir, err := os.MkdirTemp("", "stampede-checker-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchFiles.dir, benchFiles.paths = dir, make(map[int]string)
	}
	path := filepath.Join(benchFiles.dir, fmt.Sprintf("history-%d.jsonl", n))
	if err := writeSim(path, defaultSim(benchSeats, n, 42)); err != nil {
		b.Fatal(err)
	}
	benchFiles.paths[n] = path
	return path
}

// writeSim writes the simulated history of cfg to a file at path.
func writeSim(path string, cfg simConfig) error {
	w, err := history.Create(path)
	if err != nil {
		return err
	}
	var werr error
	simulate(cfg, func(r *history.Record) {
		if err := w.Write(r); err != nil && werr == nil {
			werr = err
		}
	})
	if err := w.Close(); err != nil {
		return err
	}
	return werr
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFiles.dir != "" {
		os.RemoveAll(benchFiles.dir)
	}
	os.Exit(code)
}

// peakHeap samples the live heap every few milliseconds until stop is called, and returns
// the largest value seen, in bytes.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		// runtime/metrics, unlike runtime.ReadMemStats, does not stop the world.
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// resetPeakRSS clears the kernel's high-water mark of the process's resident memory (Linux);
// peakRSS reads it back. Both report false where that is not available.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

func peakRSS() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		f := bytes.Fields(s.Bytes())
		if len(f) >= 2 && string(f[0]) == "VmHWM:" {
			kb, err := strconv.ParseUint(string(f[1]), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// BenchmarkCheck checks generated histories end to end, as `stampede check` does: the file is
// streamed and decoded, every seat checked with porcupine, the availability checks run. It
// reports the seconds per check, the peak live heap and the peak resident memory.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{10000, 100000, 1000000} {
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			path := benchHistory(b, n)
			runtime.GC()
			b.ResetTimer()
			var peak uint64
			var rss uint64
			rssOK := resetPeakRSS()
			cpu0, cpuOK := cpuTime()
			for i := 0; i < b.N; i++ {
				stop := peakHeap()
				res, err := Check(context.Background(), Input{HistoryPath: path, Options: Options{ClockSkew: 50 * time.Millisecond, Grace: time.Second}})
				peak = max(peak, stop())
				if err != nil {
					b.Fatal(err)
				}
				if v := res.Verdict(CheckLinearizability); v.Status != Pass {
					b.Fatalf("linearizability = %s (%d): %+v", v.Status, v.Count, v.Examples)
				}
				if i == 0 {
					b.ReportMetric(float64(res.Linearizability.Partitions), "seats")
					b.ReportMetric(float64(res.Linearizability.Ops), "seat-ops")
					b.ReportMetric(float64(res.Linearizability.Checked), "porcupine-ops")
				}
			}
			b.StopTimer()
			if cpu1, ok := cpuTime(); ok && cpuOK {
				// On a shared machine wall time includes waiting for a core; CPU time does not.
				b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/check")
			}
			if rssOK {
				rss, rssOK = peakRSS()
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/check")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			if rssOK {
				b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
			}
		})
	}
}

// BenchmarkCheckRecords checks histories already in memory, leaving out the JSON decoding.
func BenchmarkCheckRecords(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("ops=%d", n), func(b *testing.B) {
			recs, err := history.ReadFile(benchHistory(b, n))
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := Check(context.Background(), Input{History: recs, Options: Options{ClockSkew: 50 * time.Millisecond}})
				if err != nil {
					b.Fatal(err)
				}
				if !res.OK && res.Verdict(CheckLinearizability).Status != Pass {
					b.Fatalf("linearizability failed")
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/check")
		})
	}
}
