package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"stampede/internal/testsvc"
)

// TestServeWithPSP runs `stampede serve --with-psp` in process: the processor answers on its
// own port, the server reports it ready, and both stop with the context.
func TestServeWithPSP(t *testing.T) {
	dsn := testsvc.PG(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		done <- c.main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--with-psp", "127.0.0.1:0", "--strategy", "status-expiry", "--db", dsn})
	}()
	pspLine := regexp.MustCompile(`payment processor on (\S+)`)
	srvLine := regexp.MustCompile(`listening on (\S+)`)
	var psp, srv string
	deadline := time.Now().Add(60 * time.Second)
	for (psp == "" || srv == "") && time.Now().Before(deadline) {
		out := stdout.String()
		if m := pspLine.FindStringSubmatch(out); m != nil {
			psp = m[1]
		}
		if m := srvLine.FindStringSubmatch(out); m != nil {
			srv = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if psp == "" || srv == "" {
		t.Fatalf("serve --with-psp printed %q; stderr:\n%s", stdout.String(), stderr.String())
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+psp+"/charges", strings.NewReader(`{"amount_cents": 500, "reference": "h_1"}`))
	req.Header.Set("Idempotency-Key", "key-00000001")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("charge on the processor beside the server: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("charge: %s, want 201", resp.Status)
	}
	if resp, err := http.Get("http://" + srv + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("server healthz: %v %v", resp, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d after cancel, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
	if _, err := http.Get("http://" + psp + "/ledger"); err == nil {
		t.Fatal("the processor still answers after the server stopped")
	}
}
