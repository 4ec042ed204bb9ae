package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"stampede/strategies"
)

func TestWriteUnmappedIsLoggedNotLeaked(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	r := httptest.NewRequest(http.MethodGet, "/events/e1", nil)
	r = r.WithContext(WithLogger(r.Context(), logger))
	w := httptest.NewRecorder()
	secret := errors.New("dial tcp 10.0.0.7:5432: password authentication failed for user admin")
	Common.Write(w, r, fmt.Errorf("list events: %w", secret))

	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	var got ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	if got.Error.Code != "internal" || strings.Contains(w.Body.String(), "password") || strings.Contains(w.Body.String(), "10.0.0.7") {
		t.Errorf("body %q: want code internal without the error's text", w.Body.String())
	}
	if !strings.Contains(logs.String(), "password authentication failed") || !strings.Contains(logs.String(), "/events/e1") {
		t.Errorf("log %q: want the error and the path", logs.String())
	}
}

// TestTableOrder: an Error that carries its answer is answered as it is, the first matching row
// wins, and Unknown's rows, last, give way to a more specific error wrapped together with them.
func TestTableOrder(t *testing.T) {
	table := append(append(Table{}, Common...), Unknown...)
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{name: "own answer", err: fmt.Errorf("wrapped: %w", &Error{Status: 418, Code: "teapot", Message: "short and stout"}), wantStatus: 418, wantCode: "teapot", wantMsg: "short and stout"},
		{name: "specific before unknown", err: fmt.Errorf("after hold: %w: %w", ErrUnavailable, strategies.ErrHoldNotFound), wantStatus: 404, wantCode: CodeHoldNotFound},
		{name: "unknown", err: fmt.Errorf("charge: %w", ErrUnavailable), wantStatus: 503, wantCode: CodeUnavailable, wantMsg: "charge: outcome unknown; retry"},
		{name: "deadline", err: fmt.Errorf("hold: %w", context.DeadlineExceeded), wantStatus: 503, wantCode: CodeUnavailable, wantMsg: "the request ran out of time; its outcome is unknown"},
		{name: "unmapped", err: errors.New("boom"), wantStatus: 500, wantCode: CodeInternal, wantMsg: "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ae := table.Answer(tc.err)
			if ae.Status != tc.wantStatus || ae.Code != tc.wantCode || (tc.wantMsg != "" && ae.Message != tc.wantMsg) {
				t.Errorf("Answer(%v) = %d %s %q, want %d %s %q", tc.err, ae.Status, ae.Code, ae.Message, tc.wantStatus, tc.wantCode, tc.wantMsg)
			}
			if got := table.Code(tc.err); got != tc.wantCode {
				t.Errorf("Code(%v) = %q, want %q", tc.err, got, tc.wantCode)
			}
		})
	}
}
