// Package luareply reads the values of a Redis Lua script's reply as go-redis returns them:
// bulk strings as string, integers as int64, and Lua's false as nil over RESP2 or as a boolean
// false over RESP3. The waiting room's and the read cache's scripts answer in these values. It
// imports only the standard library.
package luareply

import "strconv"

// Present reports whether v is set: false for nil and for false.
func Present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	}
	return true
}

// String returns v as a string: a string as it is, an integer in decimal, anything else "".
func String(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}

// Int returns v as an integer: an integer as it is, a string holding an integer or a number
// (truncated), anything else 0.
func Int(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return int64(f)
		}
	}
	return 0
}
