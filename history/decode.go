package history

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Decoding lines with encoding/json is most of the cost of reading a large history. Decode
// first tries a small decoder that knows only the shape of a Record and only the plainest
// JSON: exact lowercase keys, ASCII strings without escapes, integers without fraction or
// exponent, no nulls. Anything else, including every error, falls back to encoding/json with
// unknown fields rejected, so the result and the error messages are the standard decoder's.
// FuzzDecode holds the two to the same answers.

// errSlow sends a line to encoding/json.
var errSlow = errors.New("not on the fast path")

// Decode decodes one line of a history (a JSON object, without its newline) into rec, which
// it zeroes first. Unknown fields are an error, as are values of the wrong type; the errors
// are encoding/json's. Decode does not validate the record (see Record.Validate): Reader and
// Stream do both. It is safe for concurrent use on different records.
func Decode(line []byte, rec *Record) error {
	*rec = Record{}
	p := fastParser{b: line}
	if err := p.record(rec); err == nil {
		return nil
	}
	*rec = Record{}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	return dec.Decode(rec)
}

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) consume(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// strBytes reads a plain ASCII string without escapes and returns its bytes (not copied).
func (p *fastParser) strBytes() ([]byte, error) {
	if !p.consume('"') {
		return nil, errSlow
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, nil
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, errSlow
		}
		p.i++
	}
	return nil, errSlow
}

func (p *fastParser) str() (string, error) {
	b, err := p.strBytes()
	return string(b), err
}

func (p *fastParser) int64() (int64, error) {
	p.ws()
	neg := false
	if p.i < len(p.b) && p.b[p.i] == '-' {
		neg = true
		p.i++
	}
	start := p.i
	var v uint64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		if v > (1<<63-1)/10 {
			return 0, errSlow
		}
		v = v*10 + uint64(p.b[p.i]-'0')
		p.i++
	}
	n := p.i - start
	if n == 0 || (n > 1 && p.b[start] == '0') || v > 1<<63-1 {
		return 0, errSlow
	}
	if p.i < len(p.b) {
		switch p.b[p.i] {
		case '.', 'e', 'E':
			return 0, errSlow
		}
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

func (p *fastParser) int() (int, error) {
	v, err := p.int64()
	if err != nil || int64(int(v)) != v {
		return 0, errSlow
	}
	return int(v), nil
}

func (p *fastParser) bool() (bool, error) {
	p.ws()
	switch {
	case bytes.HasPrefix(p.b[p.i:], []byte("true")):
		p.i += 4
		return true, nil
	case bytes.HasPrefix(p.b[p.i:], []byte("false")):
		p.i += 5
		return false, nil
	}
	return false, errSlow
}

func (p *fastParser) strs() ([]string, error) {
	if !p.consume('[') {
		return nil, errSlow
	}
	if p.consume(']') {
		return []string{}, nil
	}
	// Size the slice from the commas before the closing bracket (a guess that is exact for
	// the plain strings of the fast path), so that it is allocated once.
	n := 1
	for j := p.i; j < len(p.b) && p.b[j] != ']'; j++ {
		if p.b[j] == ',' {
			n++
		}
	}
	out := make([]string, 0, n)
	for {
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		if p.consume(']') {
			return out, nil
		}
		if !p.consume(',') {
			return nil, errSlow
		}
	}
}

// object calls field for every key of an object. A key seen twice goes to encoding/json,
// which merges repeated objects rather than replacing them.
func (p *fastParser) object(field func(key []byte) error) error {
	if !p.consume('{') {
		return errSlow
	}
	if p.consume('}') {
		return nil
	}
	var seen [24][]byte
	n := 0
	for {
		k, err := p.strBytes()
		if err != nil {
			return err
		}
		for _, s := range seen[:n] {
			if bytes.Equal(s, k) {
				return errSlow
			}
		}
		if n == len(seen) {
			return errSlow
		}
		seen[n] = k
		n++
		if !p.consume(':') {
			return errSlow
		}
		if err := field(k); err != nil {
			return err
		}
		if p.consume('}') {
			return nil
		}
		if !p.consume(',') {
			return errSlow
		}
	}
}

func (p *fastParser) record(r *Record) error {
	err := p.object(func(k []byte) error {
		var err error
		switch string(k) {
		case "client":
			r.Client, err = p.int()
		case "op":
			var s []byte
			s, err = p.strBytes()
			r.Op = kindOf(s)
		case "in":
			err = p.input(&r.In)
		case "call":
			r.Call, err = p.int64()
		case "ret":
			r.Ret, err = p.int64()
		case "out":
			err = p.output(&r.Out)
		case "type":
			var s []byte
			s, err = p.strBytes()
			r.Type = typeOf(s)
		case "header":
			h := &Header{}
			err = p.header(h)
			r.Header = h
		default:
			err = errSlow
		}
		return err
	})
	if err != nil {
		return err
	}
	p.ws()
	if p.i != len(p.b) {
		return errSlow
	}
	return nil
}

// kindOf and typeOf return the package constants for the common values, saving an allocation.
func kindOf(s []byte) Kind {
	for _, k := range [...]Kind{OpHold, OpCheckout, OpRelease, OpRead,
		OpBrowse, OpJoin, KindHeader, KindFaultStart, KindFaultEnd} {
		if string(k) == string(s) {
			return k
		}
	}
	return Kind(s)
}

func typeOf(s []byte) Type {
	for _, t := range [...]Type{Ok, Fail, Info, Shed} {
		if string(t) == string(s) {
			return t
		}
	}
	return Type(s)
}

func (p *fastParser) input(in *Input) error {
	return p.object(func(k []byte) error {
		var err error
		switch string(k) {
		case "event":
			in.Event, err = p.str()
		case "session":
			in.Session, err = p.str()
		case "seats":
			in.Seats, err = p.strs()
		case "tier":
			in.Tier, err = p.str()
		case "quantity":
			in.Quantity, err = p.int()
		case "hold_id":
			in.HoldID, err = p.str()
		case "key":
			in.Key, err = p.str()
		case "token":
			in.Token, err = p.str()
		case "fault":
			in.Fault, err = p.str()
		case "params":
			in.Params = map[string]string{}
			err = p.object(func(k []byte) error {
				v, err := p.str()
				in.Params[string(k)] = v
				return err
			})
		default:
			err = errSlow
		}
		return err
	})
}

func (p *fastParser) output(out *Output) error {
	return p.object(func(k []byte) error {
		var err error
		switch string(k) {
		case "status":
			out.Status, err = p.int()
		case "code":
			out.Code, err = p.str()
		case "error":
			out.Error, err = p.str()
		case "hold_id":
			out.HoldID, err = p.str()
		case "seats":
			out.Seats, err = p.strs()
		case "units":
			out.Units, err = p.strs()
		case "expires_at":
			out.ExpiresAt, err = p.int64()
		case "ttl_ms":
			out.TTLMillis, err = p.int64()
		case "booking_id":
			out.BookingID, err = p.str()
		case "charge_id":
			out.ChargeID, err = p.str()
		case "refund_id":
			out.RefundID, err = p.str()
		case "replayed":
			out.Replayed, err = p.bool()
		case "available":
			out.Available, err = p.strs()
		case "held":
			out.Held, err = p.strs()
		case "sold":
			out.Sold, err = p.strs()
		case "as_of":
			out.AsOf, err = p.int64()
		default:
			err = errSlow
		}
		return err
	})
}

func (p *fastParser) header(h *Header) error {
	return p.object(func(k []byte) error {
		var err error
		switch string(k) {
		case "start":
			h.Start, err = p.int64()
		case "scenario":
			h.Scenario, err = p.str()
		case "seed":
			h.Seed, err = p.int64()
		case "target":
			h.Target, err = p.str()
		case "strategy":
			h.Strategy, err = p.str()
		case "db":
			h.DB, err = p.str()
		case "shard":
			h.Shard, err = p.str()
		case "clock_skew":
			h.ClockSkew, err = p.int64()
		default:
			err = errSlow
		}
		return err
	})
}
