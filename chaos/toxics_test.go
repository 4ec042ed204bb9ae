package chaos

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"stampede/sut"
)

// echoServer answers every byte it reads, until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestNetResetFraction: with a fraction, net-reset cuts about that share of connections, the
// same ones (by the order they are opened) for the same run seed, and none after recovery.
func TestNetResetFraction(t *testing.T) {
	upstream := echoServer(t)
	ctx := context.Background()
	// pattern opens 60 connections one after another during the fault and says which were cut.
	pattern := func(seed uint64) string {
		ps := NewProxies()
		defer ps.Close()
		px, err := ps.Start("echo", upstream)
		if err != nil {
			t.Fatal(err)
		}
		tg := &Target{Handles: sut.Handles{Proxies: map[string]sut.Proxy{"psp": px}}, Rand: rand.New(rand.NewPCG(seed, 9))}
		rec := inject(t, "net-reset", tg, map[string]any{"target": "psp", "fraction": 0.4})
		var b strings.Builder
		for range 60 {
			b.WriteByte(".X"[boolInt(!echoes(t, px.Addr()))])
		}
		if err := rec(ctx); err != nil {
			t.Fatalf("recover: %v", err)
		}
		for i := range 5 {
			if !echoes(t, px.Addr()) {
				t.Fatalf("connection %d after recovery was cut", i)
			}
		}
		return b.String()
	}
	a := pattern(7)
	if n := strings.Count(a, "X"); n < 12 || n > 36 {
		t.Errorf("fraction 0.4 cut %d of 60 connections: %s", n, a)
	}
	if b := pattern(7); b != a {
		t.Errorf("the same seed cut different connections:\n%s\n%s", a, b)
	}
	if c := pattern(8); c == a {
		t.Errorf("seeds 7 and 8 cut the same connections: %s", a)
	}
}

// echoes opens a connection to addr, sends a byte and reports whether it came back.
func echoes(t *testing.T, addr string) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte{'x'}); err != nil {
		return false
	}
	var buf [1]byte
	_, err = io.ReadFull(c, buf[:])
	return err == nil && buf[0] == 'x'
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSeededLatencyJitter: each connection's delays are latency ± jitter, drawn from a source
// seeded by the toxic's seed and the connection's order, so they repeat with the seed.
func TestSeededLatencyJitter(t *testing.T) {
	delays := func(seed uint64) []time.Duration {
		tx := &seededLatency{Latency: 100, Jitter: 40, Seed: seed}
		_ = tx.NewState() // the first connection
		r := tx.NewState().(*rand.Rand)
		var out []time.Duration
		for range 50 {
			out = append(out, tx.delay(r))
		}
		return out
	}
	a := delays(3)
	seen := map[time.Duration]bool{}
	for _, d := range a {
		if d < 60*time.Millisecond || d > 140*time.Millisecond {
			t.Fatalf("delay %s outside 100ms ± 40ms", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 delays took only %d values: %v", len(seen), a)
	}
	if b := delays(3); !slices.Equal(a, b) {
		t.Errorf("seed 3 drew %v, then %v", a, b)
	}
	if c := delays(4); slices.Equal(a, c) {
		t.Errorf("seeds 3 and 4 drew the same delays")
	}

	// Through a proxy: a round trip takes two delays.
	upstream := echoServer(t)
	ps := NewProxies()
	defer ps.Close()
	px, err := ps.Start("echo", upstream)
	if err != nil {
		t.Fatal(err)
	}
	tg := &Target{Handles: sut.Handles{Proxies: map[string]sut.Proxy{"db": px}}, Rand: rand.New(rand.NewPCG(1, 1))}
	rec := inject(t, "net-latency", tg, map[string]any{"latency": "60ms", "jitter": "20ms"})
	start := time.Now()
	if !echoes(t, px.Addr()) {
		t.Fatal("no echo under net-latency")
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("round trip took %s under 60ms ± 20ms each way, want >= 80ms", d)
	}
	if err := rec(context.Background()); err != nil {
		t.Fatal(err)
	}
}
