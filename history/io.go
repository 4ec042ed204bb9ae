package history

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// FileName is the name of the history in a run directory.
const FileName = "history.jsonl"

// Writer appends records to a history as JSON Lines. It buffers, so call Flush or Close to
// make sure everything is on disk. It is safe for concurrent use.
type Writer struct {
	mu     sync.Mutex
	w      *bufio.Writer
	closer io.Closer
	n      int64
	err    error
}

// NewWriter returns a Writer appending to w.
func NewWriter(w io.Writer) *Writer {
	hw := &Writer{w: bufio.NewWriterSize(w, 256<<10)}
	if c, ok := w.(io.Closer); ok {
		hw.closer = c
	}
	return hw
}

// Create creates (or truncates) the file at path and returns a Writer on it.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create history: %w", err)
	}
	return NewWriter(f), nil
}

// Write appends one record. After the first error every later call returns it.
func (w *Writer) Write(r *Record) error {
	line, err := r.MarshalLine()
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if _, err := w.w.Write(line); err != nil {
		w.err = fmt.Errorf("write history: %w", err)
		return w.err
	}
	w.n++
	return nil
}

// Count returns how many records were written.
func (w *Writer) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Flush writes buffered records to the underlying writer.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.w.Flush(); err != nil {
		w.err = fmt.Errorf("flush history: %w", err)
	}
	return w.err
}

// Close flushes and closes the underlying writer when it is a Closer.
func (w *Writer) Close() error {
	err := w.Flush()
	if w.closer != nil {
		if cerr := w.closer.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close history: %w", cerr)
		}
	}
	return err
}

// Reader reads records from a JSON Lines history, one at a time. Stream reads the same
// records faster, decoding on several goroutines.
type Reader struct {
	s    *bufio.Scanner
	line int
}

// maxLine is the longest line a history may have, in bytes.
const maxLine = 16 << 20

// NewReader returns a Reader over r. Lines may be up to 16 MiB long.
func NewReader(r io.Reader) *Reader {
	return &Reader{s: newScanner(r)}
}

func newScanner(r io.Reader) *bufio.Scanner {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), maxLine)
	return s
}

// Next returns the next record, or io.EOF after the last. Blank lines are skipped, unknown
// fields rejected and every record validated; errors name the line.
func (r *Reader) Next() (*Record, error) {
	for r.s.Scan() {
		r.line++
		var rec Record
		ok, err := parseLine(r.s.Bytes(), r.line, &rec)
		if err != nil {
			return nil, err
		}
		if ok {
			return &rec, nil
		}
	}
	if err := r.s.Err(); err != nil {
		return nil, scanError(r.line, err)
	}
	return nil, io.EOF
}

// parseLine decodes and validates line number n of a history into rec. It returns false for
// a blank line.
func parseLine(raw []byte, n int, rec *Record) (bool, error) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return false, nil
	}
	if err := Decode(b, rec); err != nil {
		return false, fmt.Errorf("history line %d: %w", n, err)
	}
	if err := rec.Validate(); err != nil {
		return false, fmt.Errorf("history line %d: %w", n, err)
	}
	return true, nil
}

// scanError names the line after the last one read, where the scanner stopped.
func scanError(last int, err error) error {
	return fmt.Errorf("history line %d: %w", last+1, err)
}

// ReadAll reads every record of r.
func ReadAll(r io.Reader) ([]Record, error) {
	hr := NewReader(r)
	var out []Record
	for {
		rec, err := hr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, *rec)
	}
}

// ReadFile reads every record of the history file at path.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	defer f.Close()
	return ReadAll(f)
}

// ErrTruncated says that a history ends in a line cut short: its writer was killed in the
// middle of a record, as a crashed run leaves it.
var ErrTruncated = errors.New("history ends in an incomplete line")

// CompleteLength returns how many of the size bytes of a history (read through r) hold its
// complete lines: size when the history ends with a newline, or with a last line that is a
// whole record without one; otherwise the length up to and including the last newline, the
// part a crashed writer had finished. Only the tail after the last newline is read.
func CompleteLength(r io.ReaderAt, size int64) (int64, error) {
	const chunk = 64 << 10
	end := size
	for end > 0 {
		start := max(end-chunk, 0)
		buf := make([]byte, end-start)
		if _, err := r.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read history: %w", err)
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return completeTail(r, start+int64(i)+1, size)
		}
		if size-start > maxLine {
			break // a line longer than a history may have: no reader takes it either
		}
		end = start
	}
	return completeTail(r, 0, size)
}

// completeTail says where the complete part of a history ends, given that its last line
// starts at from: at size when that line is blank or a whole record, else at from.
func completeTail(r io.ReaderAt, from, size int64) (int64, error) {
	if from == size || size-from > maxLine {
		return from, nil
	}
	tail := make([]byte, size-from)
	if _, err := r.ReadAt(tail, from); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read history: %w", err)
	}
	var rec Record
	if _, err := parseLine(tail, 0, &rec); err == nil {
		return size, nil
	}
	return from, nil
}
