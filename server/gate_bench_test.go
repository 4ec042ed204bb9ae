package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stampede/strategies"
)

// forgedCodes are forgeries of every kind made from one genuine code: a changed signature, a
// changed seat, another event, cut short, garbage.
func forgedCodes(tb testing.TB, code, otherEvent string) []string {
	sig := []byte(code)
	dot := bytes.IndexByte(sig, '.')
	sig[dot+3] ^= 0x01
	return []string{
		string(sig),
		alterClaims(tb, code, func(c map[string]any) { c["s"] = "A-9-9" }),
		alterClaims(tb, code, func(c map[string]any) { c["e"] = otherEvent }),
		code[:len(code)-10],
		"Zm9yZ2Vk.AAAA.AAAA",
	}
}

// BenchmarkScanForged measures POST /gates/{gate}/scan of forged tickets through the server's
// handler (request decoding, the signature check, the error answer; no network), on a server
// over a real PostgreSQL database whose pool counts every connection it hands out. It reports
// refusals per second of the process's CPU time (forged_per_cpu_s: refusals per second per
// core; the target is at least 20,000) and the database calls the refusals made (db_calls:
// the target is 0). The forgeries cycle through every kind.
//
//	go test -run '^$' -bench BenchmarkScanForged -benchtime 200000x ./server/
func BenchmarkScanForged(b *testing.B) {
	tdb := newTestDB(b, "postgres")
	e := newEnv(b, "status-expiry", tdb, withPSP())
	ev, other := e.createEvent(), e.createEvent()
	bk := e.buy(ev, "fan", map[string]any{"seats": []string{"A-1-1"}})
	var bodies [][]byte
	for _, code := range forgedCodes(b, bk.Tickets[0].Code, other) {
		body, _ := json.Marshal(map[string]string{"event_id": ev, "ticket": code})
		bodies = append(bodies, body)
	}
	calls := tdb.dbCalls()
	cpu0, cpuOK := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			w := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/gates/north/scan", bytes.NewReader(bodies[i%len(bodies)]))
			e.srv.ServeHTTP(w, req)
			if w.Code != http.StatusForbidden {
				b.Errorf("forged scan = %d %s, want 403", w.Code, w.Body.String())
				return
			}
			i++
		}
	})
	b.StopTimer()
	if cpu1, ok := cpuTime(); ok && cpuOK && cpu1 > cpu0 {
		b.ReportMetric(float64(b.N)/(cpu1-cpu0).Seconds(), "forged_per_cpu_s")
	}
	b.ReportMetric(float64(tdb.dbCalls()-calls), "db_calls")
}

// BenchmarkVerifyTicket measures the signature check alone (tickets.Keys.Verify) of a genuine
// ticket (the HMAC tag and the Ed25519 signature) and of a forgery with a bad signature (the
// tag, which refuses it), on one core.
//
//	go test -run '^$' -bench BenchmarkVerifyTicket -cpu 1 ./server/
func BenchmarkVerifyTicket(b *testing.B) {
	keys, _ := ticketKeys(nil)
	code := keys.Issue(strategies.Booking{ID: "b_1", EventID: "ev", Seats: []string{"A-1-1"}})[0].Code
	forged := forgedCodes(b, code, "other")[0]
	for _, c := range []struct{ name, code string }{{"genuine", code}, {"forged", forged}} {
		b.Run(c.name, func(b *testing.B) {
			cpu0, cpuOK := cpuTime()
			for range b.N {
				_, _ = keys.Verify(c.code, "ev")
			}
			if cpu1, ok := cpuTime(); ok && cpuOK && cpu1 > cpu0 {
				b.ReportMetric(float64(b.N)/(cpu1-cpu0).Seconds(), "verified_per_cpu_s")
			}
		})
	}
}

// BenchmarkScanUnderFlood measures the latency of genuine scans over loopback HTTP, each
// admitting a fresh ticket on a real PostgreSQL database, at a steady rate from 8 gates,
// without a flood and then while forged tickets arrive at ten times that rate, in the same run
// on the same server (a budget of 256 requests in flight, as `stampede serve` runs). It reports
// the p99 of each (latency from the scan's due time, so a queue shows), their ratio,
// flood_p99_ratio (the target is at most 2), and the genuine scans shed in each phase.
//
//	go test -run '^$' -bench BenchmarkScanUnderFlood -benchtime 1x ./server/
func BenchmarkScanUnderFlood(b *testing.B) {
	const (
		rate    = 50  // genuine scans per second
		perRun  = 250 // genuine scans per phase
		flood   = 10  // forgeries per genuine scan
		gates   = 8
		perBook = 10
	)
	tdb := newTestDB(b, "postgres")
	e := newEnv(b, "status-expiry", tdb, withPSP(), withBudget(DefaultMaxInFlight, 0))
	ev, other := e.createEvent(), e.createEvent()
	big := map[string]any{"id": "flood-" + randomID(), "name": "Flood", "ga_tiers": []map[string]any{{"name": "floor", "quantity": 2 * perRun * b.N}}}
	e.must(http.StatusCreated, http.MethodPost, "/admin/events", "", big)
	ev = big["id"].(string)
	var codes []string
	for i := 0; len(codes) < 2*perRun*b.N; i++ {
		bk := e.buy(ev, fmt.Sprintf("fan-%d", i), map[string]any{"tier": "floor", "quantity": perBook})
		for _, t := range bk.Tickets {
			codes = append(codes, t.Code)
		}
	}
	var forged [][]byte
	for _, c := range forgedCodes(b, codes[0], other) {
		body, _ := json.Marshal(map[string]string{"event_id": ev, "ticket": c})
		forged = append(forged, body)
	}
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	post := func(gate int, body []byte) (int, string) {
		resp, err := client.Post(fmt.Sprintf("%s/gates/gate-%d/scan", e.url, gate), "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	var shed [2]atomic.Int64
	// phase sends n genuine scans at rate (open model: each at its due time), with
	// floodFactor forgeries per genuine scan spread between them, and returns the genuine
	// scans' latencies, measured from their due time.
	phase := func(codes []string, floodFactor int, shed *atomic.Int64) []time.Duration {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		if floodFactor > 0 {
			interval := time.Second / time.Duration(rate*floodFactor)
			for g := range gates {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tick := time.NewTicker(interval * gates)
					defer tick.Stop()
					for k := 0; ; k++ {
						select {
						case <-ctx.Done():
							return
						case <-tick.C:
							go func() {
								if st, _ := post(g, forged[k%len(forged)]); st != http.StatusForbidden && st != 0 {
									b.Errorf("forged scan = %d, want 403", st)
								}
							}()
						}
					}
				}()
			}
		}
		lat := make([]time.Duration, len(codes))
		var sent sync.WaitGroup
		start := time.Now()
		for i, code := range codes {
			due := start.Add(time.Duration(i) * time.Second / rate)
			time.Sleep(time.Until(due))
			body, _ := json.Marshal(map[string]string{"event_id": ev, "ticket": code})
			sent.Add(1)
			go func() {
				defer sent.Done()
				st, answer := post(i%gates, body)
				lat[i] = time.Since(due)
				switch {
				case st == http.StatusServiceUnavailable && strings.Contains(answer, `"overloaded"`):
					shed.Add(1)
				case st != http.StatusOK:
					b.Errorf("genuine scan = %d %s, want 200", st, answer)
				}
			}()
		}
		sent.Wait()
		cancel()
		wg.Wait()
		slices.Sort(lat)
		return lat
	}
	b.ResetTimer()
	var calm, flooded []time.Duration
	for n := range b.N {
		base := 2 * perRun * n
		calm = append(calm, phase(codes[base:base+perRun], 0, &shed[0])...)
		flooded = append(flooded, phase(codes[base+perRun:base+2*perRun], flood, &shed[1])...)
	}
	b.StopTimer()
	slices.Sort(calm)
	slices.Sort(flooded)
	p99c, p99f := percentile(calm, 0.99), percentile(flooded, 0.99)
	b.ReportMetric(float64(p99c.Microseconds())/1000, "calm_p99_ms")
	b.ReportMetric(float64(p99f.Microseconds())/1000, "flood_p99_ms")
	b.ReportMetric(float64(percentile(calm, 0.5).Microseconds())/1000, "calm_p50_ms")
	b.ReportMetric(float64(percentile(flooded, 0.5).Microseconds())/1000, "flood_p50_ms")
	b.ReportMetric(float64(p99f)/float64(p99c), "flood_p99_ratio")
	b.ReportMetric(float64(shed[0].Load()), "calm_shed")
	b.ReportMetric(float64(shed[1].Load()), "flood_shed")
}
