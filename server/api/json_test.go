package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type decodeTarget struct {
	Seats    []string `json:"seats"`
	Tier     string   `json:"tier"`
	Quantity int      `json:"quantity"`
	Nested   []struct {
		Rows int `json:"rows"`
	} `json:"sections"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus int // 0: no error
		wantField  string
		wantMsg    string // substring of the message
	}{
		{name: "ok", body: `{"tier":"floor","quantity":2}`},
		{name: "unknown fields are accepted", body: `{"tier":"floor","quantity":2,"future":{"x":1}}`},
		{name: "trailing whitespace", body: "{\"quantity\":1}\n\t "},
		{name: "empty", body: ``, wantStatus: 400, wantMsg: "empty"},
		{name: "malformed", body: `{"quantity":1,}`, wantStatus: 400, wantMsg: "malformed JSON at byte"},
		{name: "truncated", body: `{"quantity":`, wantStatus: 400, wantMsg: "unexpected end"},
		{name: "string for integer", body: `{"quantity":"2"}`, wantStatus: 400, wantField: "quantity", wantMsg: `field "quantity": want integer, got string`},
		{name: "fraction for integer", body: `{"quantity":2.5}`, wantStatus: 400, wantField: "quantity", wantMsg: "want integer, got number 2.5"},
		{name: "string for array", body: `{"seats":"A-1-1"}`, wantStatus: 400, wantField: "seats", wantMsg: "want array, got string"},
		{name: "number in string array", body: `{"seats":[1]}`, wantStatus: 400, wantField: "seats", wantMsg: "want string, got number"},
		{name: "nested field", body: `{"sections":[{"rows":"x"}]}`, wantStatus: 400, wantField: "sections.rows", wantMsg: "want integer"},
		{name: "array at top", body: `[1,2]`, wantStatus: 400, wantMsg: "want a JSON object, got array"},
		{name: "two objects", body: `{"quantity":1}{"quantity":2}`, wantStatus: 400, wantMsg: "unexpected data after"},
		{name: "too large", body: `{"tier":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, wantStatus: 413, wantMsg: "larger than 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
			var v decodeTarget
			err := DecodeJSON(r, &v)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("DecodeJSON(%q) = %v, want nil", tc.body, err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("DecodeJSON(%q) = %v (%T), want *Error", tc.body, err, err)
			}
			wantCode := CodeInvalidRequest
			if tc.wantStatus == 413 {
				wantCode = CodeBodyTooLarge
			}
			if ae.Status != tc.wantStatus || ae.Code != wantCode || ae.Field != tc.wantField {
				t.Errorf("DecodeJSON(%q) = status %d code %q field %q, want %d %s %q", tc.body[:min(len(tc.body), 80)], ae.Status, ae.Code, ae.Field, tc.wantStatus, wantCode, tc.wantField)
			}
			if !strings.Contains(ae.Message, tc.wantMsg) {
				t.Errorf("DecodeJSON(%q) message %q, want it to contain %q", tc.body, ae.Message, tc.wantMsg)
			}
		})
	}
}

// FuzzDecodeJSON checks that no body makes decoding panic or produce an error that is not a
// client error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"quantity":"2"}`, `{"seats":[1]}`, `[1]`, `{"quantity":1}{"a":2}`, `{"sections":[{"rows":"x"}]}`, `nul`, `"x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
		var v decodeTarget
		err := DecodeJSON(r, &v)
		if err == nil {
			return
		}
		var ae *Error
		if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 || ae.Code != CodeInvalidRequest && ae.Code != CodeBodyTooLarge {
			t.Fatalf("DecodeJSON(%q) = %#v, want a 4xx invalid_request", body, err)
		}
	})
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, http.StatusCreated, map[string]int{"a": 1})
	if w.Code != http.StatusCreated || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("WriteJSON: status %d content type %q, want 201 application/json", w.Code, w.Header().Get("Content-Type"))
	}
	var got map[string]int
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got["a"] != 1 {
		t.Fatalf("WriteJSON body %q: %v", w.Body.String(), err)
	}
	if w.Header().Get("Content-Length") != "8" {
		t.Errorf("Content-Length = %q, want 8 for %q", w.Header().Get("Content-Length"), w.Body.String())
	}

	w = httptest.NewRecorder()
	WriteJSON(w, http.StatusOK, map[string]any{"f": func() {}})
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"internal"`) {
		t.Errorf("WriteJSON(unencodable) = %d %q, want 500 internal", w.Code, w.Body.String())
	}
}
