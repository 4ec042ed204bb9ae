package checker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

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

// DecodeLedgers decodes one Ledger object or an array of them (one per event). It is the
// one decoder of a booking system's ledger, for files and answers alike: a JSON object that
// is not a ledger (an error answer such as {"error": ...}, or an object without an event_id)
// is refused with what it is, so that a wrong file is never judged as an empty ledger. Fields
// it does not know are ignored.
func DecodeLedgers(b []byte) ([]*Ledger, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, errors.New("empty ledger")
	}
	if b[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(b, &raws); err != nil {
			return nil, fmt.Errorf("decode ledger array: %w", err)
		}
		ls := make([]*Ledger, len(raws))
		for i, raw := range raws {
			if string(bytes.TrimSpace(raw)) == "null" {
				return nil, fmt.Errorf("decode ledger array: element %d is null", i)
			}
			l, err := decodeLedger(raw)
			if err != nil {
				return nil, fmt.Errorf("decode ledger array: element %d: %w", i, err)
			}
			ls[i] = l
		}
		return ls, nil
	}
	l, err := decodeLedger(b)
	if err != nil {
		return nil, err
	}
	return []*Ledger{l}, nil
}

// ledgerWant says what a ledger is, for the errors of a JSON value that is not one.
const ledgerWant = "want the body of GET /admin/ledger?event=ID (an object with event_id), or an array of them"

// decodeLedger decodes one ledger object and checks that it is one.
func decodeLedger(b []byte) (*Ledger, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("decode ledger: %w", err)
	}
	if err := notAnError(keys); err != nil {
		return nil, err
	}
	var l Ledger
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("decode ledger: %w", err)
	}
	if l.EventID == "" {
		return nil, fmt.Errorf("not a ledger: no event_id among its fields %s; %s", fieldList(keys), ledgerWant)
	}
	return &l, nil
}

// notAnError refuses the JSON object of an error answer ({"error": ...}) where a ledger was
// expected, quoting its message.
func notAnError(keys map[string]json.RawMessage) error {
	raw, ok := keys["error"]
	if !ok {
		return nil
	}
	msg := string(raw)
	var e struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	var text string
	switch {
	case json.Unmarshal(raw, &text) == nil:
		msg = text
	case json.Unmarshal(raw, &e) == nil && (e.Message != "" || e.Code != ""):
		msg = strings.TrimSpace(e.Code + " " + e.Message)
	}
	return fmt.Errorf("not a ledger but an error answer: %s", oneLine(msg, 200))
}

// fieldList names an object's fields for messages: "(foo, bar)" or "(none)".
func fieldList(keys map[string]json.RawMessage) string {
	if len(keys) == 0 {
		return "(none)"
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) > 8 {
		names = append(names[:8], "...")
	}
	return "(" + strings.Join(names, ", ") + ")"
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

// DecodePSPLedger decodes the processor's ledger (its GET /ledger body), the one decoder of it
// for files and answers alike: a JSON object that is not one (an error answer, or an object
// without charges) is refused with what it is. Fields it does not know are ignored.
func DecodePSPLedger(b []byte) (*PSPLedger, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err := notAnError(keys); err != nil {
		return nil, err
	}
	if _, ok := keys["charges"]; !ok {
		return nil, fmt.Errorf("not a processor ledger: no charges among its fields %s; want the body of the processor's GET /ledger", fieldList(keys))
	}
	var l PSPLedger
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &l, nil
}

// ErrNotRunDir is LoadDir's error for a directory without a history: not the directory of a
// run (`stampede run` writes one per strategy and database, `stampede drive` its --out).
var ErrNotRunDir = errors.New("not a run directory")

// LoadDir prepares the Input for a run directory: its history.jsonl (required), and
// ledger.json and psp-ledger.json when they exist. Options.OutDir is set to dir, so
// visualizations land beside the history.
func LoadDir(dir string) (Input, error) {
	in := Input{HistoryPath: filepath.Join(dir, HistoryFile)}
	if _, err := os.Stat(in.HistoryPath); errors.Is(err, fs.ErrNotExist) {
		return Input{}, fmt.Errorf("%s has no %s: %w", dir, HistoryFile, ErrNotRunDir)
	} else if err != nil {
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
