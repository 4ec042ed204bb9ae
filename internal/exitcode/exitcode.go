// Package exitcode is the one meaning of each exit status of every stampede subcommand:
//
//	0   all good: every check passed, every SLO and gate held, the coverage declared was reached
//	1   a correctness violation: a check failed (a seat sold twice, money lost, ...)
//	2   usage: bad flags, arguments or input files
//	3   an SLO or a regression gate failed, with every check passing
//	4   the harness could not do its job: a service did not start, the target was unreachable,
//	    the generator was the bottleneck
//	5   the run did not reach the hazard coverage it declared
//	6   stampede selftest: a broken variant that no scenario caught at any seed
//	130 interrupted (Ctrl-C or SIGTERM)
//
// Correctness always wins: a run that regressed and sold a seat twice exits 1. Worst combines
// the codes of several runs or several verdicts of one run by that precedence.
package exitcode

import (
	"errors"
	"fmt"
)

// The exit statuses.
const (
	OK          = 0
	Violation   = 1
	Usage       = 2
	Gate        = 3
	Harness     = 4
	Coverage    = 5
	Undetected  = 6
	Interrupted = 130
)

// rank orders the codes by precedence: a higher rank wins in Worst.
func rank(code int) int {
	switch code {
	case OK:
		return 0
	case Gate:
		return 1
	case Coverage:
		return 2
	case Harness:
		return 3
	case Undetected:
		return 4
	case Usage:
		return 5
	case Interrupted:
		return 6
	case Violation:
		return 7
	}
	return 3 // an unknown code is treated as the harness failing
}

// Worst returns the code that wins among codes (OK when there are none): a violation over an
// interruption, over usage, over an undetected variant, over a harness failure, over a
// coverage shortfall, over a gate.
func Worst(codes ...int) int {
	w := OK
	for _, c := range codes {
		if rank(c) > rank(w) {
			w = c
		}
	}
	return w
}

// Name is a code's one-word meaning, for reports and messages.
func Name(code int) string {
	switch code {
	case OK:
		return "ok"
	case Violation:
		return "violation"
	case Usage:
		return "usage"
	case Gate:
		return "gate"
	case Harness:
		return "harness"
	case Coverage:
		return "coverage"
	case Undetected:
		return "undetected"
	case Interrupted:
		return "interrupted"
	}
	return fmt.Sprintf("exit %d", code)
}

// Codes are the exit statuses, in the order of the table above.
func Codes() []int {
	return []int{OK, Violation, Usage, Gate, Harness, Coverage, Undetected, Interrupted}
}

// Meaning is a code's line of the table above, for help texts; empty for a code not in it.
func Meaning(code int) string {
	switch code {
	case OK:
		return "all good: every check passed, every SLO and gate held, the coverage declared was reached"
	case Violation:
		return "a correctness violation: a check failed (a seat sold twice, money lost, ...)"
	case Usage:
		return "usage: bad flags, arguments or input files"
	case Gate:
		return "an SLO or a regression gate failed, with every check passing"
	case Harness:
		return "the harness could not do its job: a service did not start, the target was unreachable, the generator was the bottleneck"
	case Coverage:
		return "the run did not reach the hazard coverage it declared"
	case Undetected:
		return "stampede selftest: a broken variant that no scenario caught at any seed"
	case Interrupted:
		return "interrupted (Ctrl-C or SIGTERM)"
	}
	return ""
}

// Error is an error that carries the exit status the command ends with. A nil Err prints
// nothing more (the command already said why).
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d (%s)", e.Code, Name(e.Code))
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// With wraps err with code; a nil err gives an Error that prints nothing more.
func With(code int, err error) error { return &Error{Code: code, Err: err} }

// Of returns the exit status err asks for: OK for nil, the Code of an Error in its chain, and
// Harness for any other error (the command could not do its job).
func Of(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Harness
}
