package luareply

import "testing"

func TestReplyValues(t *testing.T) {
	tests := []struct {
		name    string
		v       any
		present bool
		str     string
		num     int64
	}{
		{name: "nil (false over RESP2)", v: nil},
		{name: "false (RESP3)", v: false},
		{name: "true", v: true, present: true},
		{name: "integer", v: int64(42), present: true, str: "42", num: 42},
		{name: "integer string", v: "17", present: true, str: "17", num: 17},
		{name: "number string", v: "2.75", present: true, str: "2.75", num: 2},
		{name: "word", v: "run-1", present: true, str: "run-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Present(tc.v); got != tc.present {
				t.Errorf("Present(%#v) = %v, want %v", tc.v, got, tc.present)
			}
			if got := String(tc.v); got != tc.str {
				t.Errorf("String(%#v) = %q, want %q", tc.v, got, tc.str)
			}
			if got := Int(tc.v); got != tc.num {
				t.Errorf("Int(%#v) = %d, want %d", tc.v, got, tc.num)
			}
		})
	}
}
