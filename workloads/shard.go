package workloads

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard selects a deterministic part of a run's users: shard Index of Count runs the users
// whose index i has i % Count == Index. The zero Shard (Count 0) is the whole run. Indexes are
// 0-based, like a Kubernetes Indexed Job's completion index.
type Shard struct {
	Index, Count int
}

// ParseShard parses `i/n` (0 <= i < n). An empty string is the whole run.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want i/n, such as 0/4", s)
	}
	sh := Shard{Index: i, Count: n}
	if err := sh.Validate(); err != nil {
		return Shard{}, err
	}
	return sh, nil
}

// Validate reports a shard whose index is out of range.
func (s Shard) Validate() error {
	if s.Count == 0 && s.Index == 0 {
		return nil
	}
	if s.Count < 1 {
		return fmt.Errorf("shard %d/%d: the count must be >= 1", s.Index, s.Count)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d/%d: the index must be in 0..%d", s.Index, s.Count, s.Count-1)
	}
	return nil
}

// String formats s as `i/n`, or "" for the whole run.
func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Owns reports whether user i belongs to the shard.
func (s Shard) Owns(i int) bool {
	if s.Count <= 1 {
		return true
	}
	return i%s.Count == s.Index
}

// first and step give the shard's users as first, first+step, ...
func (s Shard) first() int {
	if s.Count <= 1 {
		return 0
	}
	return s.Index
}

func (s Shard) step() int { return max(s.Count, 1) }

// ShardUsers returns the indexes of the plan's users that belong to the shard, in arrival order.
func (p *Plan) ShardUsers(s Shard) []int {
	var out []int
	for i := s.first(); i < p.total; i += s.step() {
		out = append(out, i)
	}
	return out
}
