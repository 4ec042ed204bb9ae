package workloads

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// FieldError is one mistake in a scenario file, with the line (1-based; 0 when unknown) and the
// field path (`users[1].weight`) it concerns.
type FieldError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

// Error formats e as `file:line: field: message`.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationError lists every mistake found in a scenario file, in line order.
type ValidationError struct {
	Errors []*FieldError
}

// Error puts one mistake a line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the individual FieldErrors to errors.As and errors.Is.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe
	}
	return out
}

func decodeError(name string, idx *yamlIndex, err error) error {
	if errors.Is(err, errEmptyYAML) || strings.Contains(err.Error(), "EOF") {
		return &FieldError{File: name, Msg: "empty scenario"}
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		fe := &FieldError{File: name, Msg: cleanYAMLMessage(ye.GetMessage())}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			fe.Line = tk.Position.Line
			fe.Field = idx.pathAt(tk.Position.Line, tk.Position.Column)
		}
		var ue *yaml.UnknownFieldError
		var se *yaml.SyntaxError
		var de *yaml.DuplicateKeyError
		switch {
		case errors.As(err, &ue):
			fe.Msg = "unknown field"
		case errors.As(err, &de) || strings.Contains(fe.Msg, "already defined"):
			if i := strings.Index(fe.Msg, " at ["); i > 0 {
				fe.Msg = fe.Msg[:i]
			}
			fe.Msg = "duplicate key: " + fe.Msg
		case errors.As(err, &se):
			fe.Msg = "syntax error: " + fe.Msg
		}
		return fe
	}
	return &FieldError{File: name, Msg: err.Error()}
}

var errEmptyYAML = errors.New("empty")

// cleanYAMLMessage turns the decoder's Go-flavoured type messages into scenario terms.
func cleanYAMLMessage(msg string) string {
	if i := strings.Index(msg, "cannot unmarshal "); i >= 0 {
		rest := msg[i+len("cannot unmarshal "):]
		src, _, _ := strings.Cut(rest, " into ")
		want := "a different type"
		if j := strings.LastIndex(rest, " of type "); j >= 0 {
			want = friendlyType(rest[j+len(" of type "):])
		}
		return fmt.Sprintf("wrong type: got %s, want %s", src, want)
	}
	return msg
}

func friendlyType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.Contains(t, "int"):
		return "an integer"
	case strings.Contains(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "map") || strings.Contains(t, "workloads."):
		return "a mapping"
	}
	return t
}

// validator converts the decoded file into a Scenario, collecting every mistake.
type validator struct {
	file string
	idx  *yamlIndex
	errs []*FieldError
}

func (v *validator) errf(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{File: v.file, Line: v.idx.line(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// intIn reads an optional whole number that must be lo..hi: def when it is absent.
func (v *validator) intIn(field string, x *int, lo, hi, def int) int {
	if x == nil {
		return def
	}
	if *x < lo || *x > hi {
		v.errf(field, "%d: must be %d..%d", *x, lo, hi)
	}
	return *x
}

func (v *validator) duration(field, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := parseDuration(s)
	if err != nil {
		v.errf(field, "%v", err)
		return def
	}
	return d
}

func (v *validator) rate(field, s string) Rate {
	if s == "" {
		return 0
	}
	r, err := parseRate(s)
	if err != nil {
		v.errf(field, "%v", err)
	}
	return r
}

func (v *validator) fraction(field, s string) float64 {
	if s == "" {
		return 0
	}
	f, err := parseFraction(s)
	if err != nil {
		v.errf(field, "%v", err)
	}
	return f
}

func (v *validator) durationRange(field, s string) DurationRange {
	if s == "" {
		return DurationRange{}
	}
	r, err := parseDurationRange(s)
	if err != nil {
		v.errf(field, "%v", err)
	}
	return r
}
