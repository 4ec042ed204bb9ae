package strategies

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// Connection tags: every statement a strategy runs carries one of them, so pool wait and
// connection hold time are measured per kind of work.
const (
	tagHold     = "hold"
	tagCheckout = "checkout"
	tagSweeper  = "sweeper"
	tagRead     = "read"
)

// newID returns prefix followed by 16 random hex digits (64 bits): "h_" for holds, "b_" for
// bookings. crypto/rand never fails on the platforms stampede supports.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// encodeList stores a list of ids in one TEXT column, comma-separated. Ids never contain commas
// (seat ids are SECTION-ROW-NUMBER, unit ids are chosen by the strategy).
func encodeList(ids []string) string { return strings.Join(ids, ",") }

// decodeList is the inverse of encodeList; the empty string is an empty (nil) list.
func decodeList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// inList returns "?, ?, ?" for n placeholders.
func inList(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// appendArgs appends ids to args as []any.
func appendArgs(args []any, ids []string) []any {
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// dbTime is t as both databases store it: UTC, microseconds.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
