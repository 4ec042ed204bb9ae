package checker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"stampede/history"
)

// File names the checker looks for in a run directory.
const (
	HistoryFile   = history.FileName
	LedgerFile    = "ledger.json"
	PSPLedgerFile = "psp-ledger.json"
)

// ReadLedgers reads a booking system's ledger file: one Ledger object (GET /admin/ledger for
// one event) or a JSON array of them, one per event.
func ReadLedgers(path string) ([]*Ledger, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	ls, err := DecodeLedgers(b)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return ls, nil
}

// DecodeLedgers decodes one Ledger object or an array of them.
func DecodeLedgers(b []byte) ([]*Ledger, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, errors.New("empty ledger")
	}
	if b[0] == '[' {
		var ls []*Ledger
		if err := json.Unmarshal(b, &ls); err != nil {
			return nil, fmt.Errorf("decode ledger array: %w", err)
		}
		for i, l := range ls {
			if l == nil {
				return nil, fmt.Errorf("decode ledger array: element %d is null", i)
			}
		}
		return ls, nil
	}
	var l Ledger
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("decode ledger: %w", err)
	}
	return []*Ledger{&l}, nil
}

// ReadPSPLedger reads the payment processor's ledger file (its GET /ledger body).
func ReadPSPLedger(path string) (*PSPLedger, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read processor ledger: %w", err)
	}
	l, err := DecodePSPLedger(b)
	if err != nil {
		return nil, fmt.Errorf("processor ledger %s: %w", path, err)
	}
	return l, nil
}

// DecodePSPLedger decodes the processor's ledger (its GET /ledger body).
func DecodePSPLedger(b []byte) (*PSPLedger, error) {
	var l PSPLedger
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &l, nil
}

// LoadDir prepares the Input for a run directory: its history.jsonl (required), and
// ledger.json and psp-ledger.json when they exist. Options.OutDir is set to dir, so
// visualizations land beside the history.
func LoadDir(dir string) (Input, error) {
	in := Input{HistoryPath: filepath.Join(dir, HistoryFile)}
	if _, err := os.Stat(in.HistoryPath); err != nil {
		return Input{}, fmt.Errorf("run directory %s: %w", dir, err)
	}
	ls, err := ReadLedgers(filepath.Join(dir, LedgerFile))
	switch {
	case err == nil:
		in.Ledgers = ls
	case !errors.Is(err, fs.ErrNotExist):
		return Input{}, err
	}
	psp, err := ReadPSPLedger(filepath.Join(dir, PSPLedgerFile))
	switch {
	case err == nil:
		in.PSP = psp
	case !errors.Is(err, fs.ErrNotExist):
		return Input{}, err
	}
	in.Options.OutDir = dir
	return in, nil
}
