package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
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
