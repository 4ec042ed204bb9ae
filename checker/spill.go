package checker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// A stadium's history (ten million operations, twenty million seat operations) does not fit
// in memory as seat operations beside everything else the checks keep. Partitions are
// independent (every seat is checked on its own, and nothing else reads a seat's
// operations), so once the projected operations pass Options.MaxResidentOps they are written
// to spillBuckets files on disk, each partition to one bucket (partition id modulo the bucket
// count), and checked one bucket at a time: only one bucket's operations are in memory while
// the seats are checked. What stays in memory for the whole check is what the ledger, money
// and availability checks need about every hold and checkout.

// spillBuckets is how many buckets the seat operations of a spilled history are spread over.
const spillBuckets = 64

// spillRecord is the size of one projected operation on disk.
const spillRecord = 8 + 8 + 4*5 + 5

// spillBuffer is how many operations a bucket buffers before it writes them (64 buckets of
// 4096 operations: 10 MiB of buffers, a write of 164 KiB at a time).
const spillBuffer = 4096

// spillBatch is how many projected operations the index hands the spill's writer at a time.
const spillBatch = 4096

// spill holds the buckets of a spilled history. With a writer (newSpill's async), the
// operations are encoded and written on a goroutine of their own, a batch at a time, while
// the index goes on reading the history: send hands it a batch, finish waits until everything
// sent is written. Without one, send writes in the caller. Either way, load and close come
// after finish, on one goroutine at a time per bucket.
type spill struct {
	dir   string
	files [spillBuckets]*os.File
	w     [spillBuckets]*bufio.Writer
	n     [spillBuckets]int
	err   error

	// batches go to the writer, which gives them back on free for reuse; done is closed when
	// the writer has written the last one.
	batches chan []projected
	free    chan []projected
	done    chan struct{}
}

// newSpill creates the buckets in a new directory under tempDir; with async, a goroutine
// writes them (finish or close stops it).
func newSpill(tempDir string, async bool) (*spill, error) {
	dir, err := os.MkdirTemp(tempDir, "stampede-check-")
	if err != nil {
		return nil, fmt.Errorf("spill seat operations: %w", err)
	}
	s := &spill{dir: dir}
	for b := range s.files {
		f, err := os.CreateTemp(dir, "bucket-")
		if err != nil {
			s.close()
			return nil, fmt.Errorf("spill seat operations: %w", err)
		}
		s.files[b] = f
		s.w[b] = bufio.NewWriterSize(f, spillBuffer*spillRecord)
	}
	if async {
		// Two batches in flight besides the one being filled keep the writer busy without
		// holding more than a few hundred KiB.
		s.batches, s.free, s.done = make(chan []projected, 2), make(chan []projected, 4), make(chan struct{})
		go func() {
			defer close(s.done)
			for ps := range s.batches {
				s.writeAll(ps)
				select {
				case s.free <- ps[:0]:
				default:
				}
			}
		}()
	}
	return s, nil
}

// batch returns an empty batch to fill, a reused one when the writer has given one back.
func (s *spill) batch() []projected {
	select {
	case ps := <-s.free:
		return ps
	default:
		return make([]projected, 0, spillBatch)
	}
}

// send hands a batch of projected operations over to be written; the caller must not touch
// it again.
func (s *spill) send(ps []projected) {
	if s.batches == nil {
		s.writeAll(ps)
		return
	}
	s.batches <- ps
}

// finish waits until every batch sent is written. It may be called more than once.
func (s *spill) finish() {
	if s.batches == nil {
		return
	}
	close(s.batches)
	<-s.done
	s.batches = nil
}

// writeAll writes a batch of projected operations to their buckets.
func (s *spill) writeAll(ps []projected) {
	for i := range ps {
		s.write(&ps[i])
	}
}

// bucket is the bucket of partition k.
func bucket(k int32) int { return int(k) % spillBuckets }

// write appends one projected operation to its partition's bucket. After the first error it
// writes nothing; err reports it.
func (s *spill) write(p *projected) {
	if s.err != nil {
		return
	}
	k := bucket(p.part)
	w := s.w[k]
	if w.Available() < spillRecord {
		if err := w.Flush(); err != nil {
			s.err = fmt.Errorf("spill seat operations: %w", err)
			return
		}
	}
	// The record is encoded in the writer's own buffer: no copy, and nothing escapes.
	b := w.AvailableBuffer()[:spillRecord]
	o := &p.op
	binary.LittleEndian.PutUint64(b[0:], uint64(o.call))
	binary.LittleEndian.PutUint64(b[8:], uint64(o.ret))
	binary.LittleEndian.PutUint32(b[16:], uint32(o.rec))
	binary.LittleEndian.PutUint32(b[20:], uint32(o.client))
	binary.LittleEndian.PutUint32(b[24:], uint32(o.hold))
	binary.LittleEndian.PutUint32(b[28:], uint32(o.booking))
	binary.LittleEndian.PutUint32(b[32:], uint32(p.part))
	b[36], b[37], b[38], b[39] = byte(o.kind), byte(o.out), byte(o.code), byte(o.read)
	b[40] = 0
	if o.snap {
		b[40] = 1
	}
	if _, err := w.Write(b); err != nil {
		s.err = fmt.Errorf("spill seat operations: %w", err)
		return
	}
	s.n[k]++
}

// load reads bucket k back, calling fn with every operation in the order written.
func (s *spill) load(k int, fn func(p projected)) error {
	if s.err != nil {
		return s.err
	}
	if err := s.w[k].Flush(); err != nil {
		return fmt.Errorf("spill seat operations: %w", err)
	}
	f := s.files[k]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("read spilled seat operations: %w", err)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var b [spillRecord]byte
	for i := 0; i < s.n[k]; i++ {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return fmt.Errorf("read spilled seat operations: %w", err)
		}
		var p projected
		o := &p.op
		o.call = int64(binary.LittleEndian.Uint64(b[0:]))
		o.ret = int64(binary.LittleEndian.Uint64(b[8:]))
		o.rec = int32(binary.LittleEndian.Uint32(b[16:]))
		o.client = int32(binary.LittleEndian.Uint32(b[20:]))
		o.hold = int32(binary.LittleEndian.Uint32(b[24:]))
		o.booking = int32(binary.LittleEndian.Uint32(b[28:]))
		p.part = int32(binary.LittleEndian.Uint32(b[32:]))
		o.kind, o.out, o.code, o.read = opKind(b[36]), outcome(b[37]), failCode(b[38]), status(b[39])
		o.snap = b[40] == 1
		fn(p)
	}
	// The bucket is read once: give its disk space back now.
	err := f.Truncate(0)
	s.n[k] = 0
	if err != nil {
		return fmt.Errorf("read spilled seat operations: %w", err)
	}
	return nil
}

// close stops the writer and removes the buckets.
func (s *spill) close() error {
	s.finish()
	var errs []error
	for _, f := range s.files {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	errs = append(errs, os.RemoveAll(s.dir))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove spilled seat operations: %w", err)
	}
	return nil
}
