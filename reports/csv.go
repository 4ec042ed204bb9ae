package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// metricsHeader are the columns of metrics.csv that every row has; a column per key of the
// points' Extra follows them.
var metricsHeader = []string{"strategy", "db", "t", "requests", "ok", "fail", "info", "errors", "holds", "bookings",
	"hold_p50_ms", "hold_p99_ms", "in_flight"}

// latencyHeader are the columns of latency.csv.
var latencyHeader = []string{"strategy", "db", "op", "measured_from", "count", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"}

// MetricsCSV writes metrics.csv: a row per second of every run's herd (Run.Series), in the
// summary's order, for a spreadsheet or a plotting tool. t is the second's start in seconds
// since the herd started; the hold latencies are in milliseconds.
func MetricsCSV(w io.Writer, s *Summary) error {
	extra := map[string]bool{}
	for _, r := range s.Runs {
		for _, p := range r.Series {
			for k := range p.Extra {
				extra[k] = true
			}
		}
	}
	keys := sortedKeys(extra)
	return writeCSV(w, MetricsFile, append(append([]string{}, metricsHeader...), keys...), func(row func(...string) error) error {
		for _, r := range s.Runs {
			for _, p := range r.Series {
				cells := []string{r.Strategy, r.DB, decimal(p.T), integer(p.Requests), integer(p.Ok), integer(p.Fail), integer(p.Info),
					integer(p.Errors), integer(p.Holds), integer(p.Bookings), decimal(p.P50), decimal(p.P99), integer(p.InFlight)}
				for _, k := range keys {
					cells = append(cells, integer(p.Extra[k]))
				}
				if err := row(cells...); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// LatencyCSV writes latency.csv: a row per operation of every run and per way of measuring it,
// in milliseconds: from each request's intended start (measured_from "intended", the figures
// the SLOs judge) and from its actual send ("sent").
func LatencyCSV(w io.Writer, s *Summary) error {
	return writeCSV(w, LatencyFile, latencyHeader, func(row func(...string) error) error {
		for _, r := range s.Runs {
			for _, basis := range []struct {
				name string
				m    map[string]Percentiles
			}{{"intended", r.Latency}, {"sent", r.LatencyActual}} {
				for _, op := range sortedKeys(basis.m) {
					p := basis.m[op]
					if err := row(r.Strategy, r.DB, op, basis.name, integer(p.Count),
						decimal(p.P50), decimal(p.P90), decimal(p.P99), decimal(p.P999), decimal(p.Max)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// writeCSV writes the header and then the rows that body passes to row, naming the file in
// any error.
func writeCSV(w io.Writer, file string, header []string, body func(row func(...string) error) error) error {
	cw := csv.NewWriter(w)
	err := cw.Write(header)
	if err == nil {
		err = body(func(cells ...string) error { return cw.Write(cells) })
	}
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

func integer(n int64) string { return strconv.FormatInt(n, 10) }

func decimal(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
