package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDrivePlanIsDeterministic(t *testing.T) {
	scenario := filepath.Join("..", "..", "scenarios", "quickstart.yaml")
	var a, b bytes.Buffer
	if err := drivePlan([]string{scenario, "--users", "50", "--seed", "9"}, &a); err != nil {
		t.Fatalf("drive plan: %v", err)
	}
	if err := drivePlan([]string{"--seed", "9", "--users", "50", scenario}, &b); err != nil {
		t.Fatalf("drive plan: %v", err)
	}
	if a.String() != b.String() {
		t.Fatal("two plans with seed 9 differ")
	}
	lines := strings.Split(strings.TrimSpace(a.String()), "\n")
	if len(lines) != 50 {
		t.Fatalf("plan has %d users, want 50", len(lines))
	}
	var u struct {
		Index int    `json:"index"`
		Flow  string `json:"flow"`
	}
	if err := json.Unmarshal([]byte(lines[49]), &u); err != nil || u.Index != 49 || u.Flow == "" {
		t.Errorf("last plan line %q: %+v, %v", lines[49], u, err)
	}
	var shard bytes.Buffer
	if err := drivePlan([]string{scenario, "--users", "3", "--shard", "1/4"}, &shard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(shard.String(), `{"index":1,`) {
		t.Errorf("shard 1/4 plan starts %q, want user 1", shard.String()[:20])
	}
}

func TestDriveMergeNeedsInputs(t *testing.T) {
	if err := driveMerge([]string{"--out", filepath.Join(t.TempDir(), "m.jsonl")}); err == nil {
		t.Error("merge without histories succeeded")
	}
}

func TestDriveStartAtAndMetricsAddr(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	scenario := filepath.Join("..", "..", "scenarios", "quickstart.yaml")
	base := []string{scenario, "--target", "http://127.0.0.1:1", "--out", t.TempDir()}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"not an instant", []string{"--start-at", "tomorrow"}, "want an RFC 3339 instant"},
		{"long past", []string{"--start-at", time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)}, "in the past (more than 1m0s)"},
		{"metrics address taken", []string{"--metrics-addr", busy.Addr().String()}, "listen on " + busy.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cmdDrive(context.Background(), append(append([]string{}, base...), tt.args...))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("stampede drive %v = %v, want an error saying %q", tt.args, err, tt.wantErr)
			}
		})
	}
}
