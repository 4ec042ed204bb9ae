package history

import (
	"context"
	"io"
	"sync"
)

// streamBatch is how many lines one decoding job of Stream takes.
const streamBatch = 2048

// Stream reads the history from r and calls fn with every record, in file order: the records
// a Reader would return, with the same rules (blank lines skipped, unknown fields rejected,
// every record validated, lines up to 16 MiB) and the same errors, which name the line.
// Decoding is most of the cost of reading a large history, so lines are decoded in batches by
// workers goroutines (fewer than one means one) while fn takes the records already decoded;
// fn is called from one goroutine at a time and may keep rec. Memory is bounded by a few
// batches a worker, never the whole history.
//
// Stream stops at the first error: a line that does not decode or validate, a failed read, an
// error from fn (returned as is), or the end of ctx (ctx.Err()). It returns once every
// goroutine it started has finished, so a read of r in progress (which ctx cannot interrupt)
// ends first.
func Stream(ctx context.Context, r io.Reader, workers int, fn func(rec *Record) error) error {
	workers = max(workers, 1)
	type batch struct {
		first int // line number of the first line, 1-based
		// lines are slices of buf, one allocation a batch rather than one a line.
		lines [][]byte
		buf   []byte
		recs  []Record
		err   error
		done  chan struct{}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *batch)
	order := make(chan *batch, 4*workers)
	var scanErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(jobs)
		s := newScanner(r)
		line := 0
		b := &batch{first: 1, done: make(chan struct{})}
		flush := func() bool {
			size := cap(b.buf) // read before a worker takes b: it clears b.buf
			select {
			case jobs <- b:
			case <-ctx.Done():
				return false
			}
			select {
			case order <- b:
			case <-ctx.Done():
				return false
			}
			b = &batch{first: line + 1, done: make(chan struct{}), buf: make([]byte, 0, size)}
			return true
		}
		for s.Scan() {
			line++
			// Slicing buf keeps earlier lines valid when it grows: they still point into the
			// old array, which nothing writes again.
			start := len(b.buf)
			b.buf = append(b.buf, s.Bytes()...)
			b.lines = append(b.lines, b.buf[start:len(b.buf):len(b.buf)])
			if len(b.lines) == streamBatch && !flush() {
				return
			}
		}
		if err := s.Err(); err != nil {
			scanErr = scanError(line, err)
		}
		flush()
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				b.recs, b.err = parseLines(b.first, b.lines)
				b.lines, b.buf = nil, nil
				close(b.done)
			}
		}()
	}
	for b := range order {
		select {
		case <-b.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if b.err != nil {
			return b.err
		}
		for j := range b.recs {
			if err := fn(&b.recs[j]); err != nil {
				return err
			}
		}
	}
	if scanErr != nil {
		return scanErr
	}
	return ctx.Err()
}

// parseLines decodes a batch of lines; first is the first line's number.
func parseLines(first int, lines [][]byte) ([]Record, error) {
	// Each line is decoded in place into its slot: a Record is large, and copying one holds
	// its pointers to the write barrier.
	recs := make([]Record, len(lines))
	n := 0
	for k, raw := range lines {
		ok, err := parseLine(raw, first+k, &recs[n])
		if err != nil {
			return nil, err
		}
		if ok {
			n++
		}
	}
	return recs[:n], nil
}
