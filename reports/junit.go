package reports

import (
	"encoding/xml"
	"fmt"
	"io"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     float64      `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnit writes junit.xml: one test suite per strategy x database, its capacity search (when
// it searched), each check, each SLO, each
// hazard with a required minimum and each fault a test case (a fault the target could not
// undergo is skipped, with the reason, and so is an SLO that did not hold while the load
// generator was the bottleneck), so CI systems show them natively. An unknown check is a
// failure: it proved nothing. A check that was not exercised is skipped, with the hazards that
// never occurred; a hazard short of its minimum is a failure of type coverage.
func JUnit(w io.Writer, s *Summary) error {
	out := junitSuites{Name: "stampede " + s.Scenario, Time: s.DurationSeconds}
	for _, r := range s.Runs {
		suite := junitSuite{Name: fmt.Sprintf("%s/%s%s", r.Strategy, r.DB, r.repeatText()), Time: r.DurationSeconds}
		class := fmt.Sprintf("stampede.%s.%s", r.Strategy, r.DB)
		if r.Error != "" {
			suite.Cases = append(suite.Cases, junitCase{Name: "run", Classname: class,
				Failure: &junitFailure{Message: r.Error, Type: "error", Body: r.Error}})
		}
		if c := r.CapacitySearch; c != nil {
			// The search is a case of its own: it fails when it cannot vouch for a capacity
			// (unsafe, none held, the generator ran out, a step could not run) or for --min.
			tc := junitCase{Name: "capacity", Classname: class, SystemOut: c.Answer}
			if c.Reason != "" {
				tc.Failure = &junitFailure{Message: "capacity: " + c.Reason, Type: "capacity", Body: c.Answer}
			}
			suite.Cases = append(suite.Cases, tc)
		}
		for _, c := range r.Checks {
			tc := junitCase{Name: "check " + c.Name, Classname: class}
			switch c.Result {
			case Fail, Unknown:
				body := c.Counterexample
				for _, d := range c.Details {
					body += "\n" + d
				}
				tc.Failure = &junitFailure{Message: fmt.Sprintf("%s: %s (%d)", c.Name, c.Result, c.Count), Type: c.Result, Body: body}
			case Skipped:
				tc.Skipped = &junitSkipped{Message: c.Counterexample}
			case NotExercised:
				tc.Skipped = &junitSkipped{Message: "not exercised: " + c.Counterexample}
			default:
				tc.SystemOut = fmt.Sprintf("%d checked", c.Count)
			}
			suite.Cases = append(suite.Cases, tc)
		}
		for _, o := range r.SLOs {
			tc := junitCase{Name: "slo " + o.Name, Classname: class,
				SystemOut: fmt.Sprintf("target %s, actual %s", fmtVal(o.Target, o.Unit), o.ActualText())}
			switch {
			case !o.Pass && o.Untrusted:
				// Not a verdict on the target: the load generator was the bottleneck.
				tc.SystemOut, tc.Skipped = "", &junitSkipped{Message: fmt.Sprintf("not judged: %s over target %s, but the load generator was the bottleneck",
					fmtVal(o.Actual, o.Unit), fmtVal(o.Target, o.Unit))}
			case !o.Pass:
				tc.Failure = &junitFailure{Message: fmt.Sprintf("%s: %s, target %s", o.Name, o.ActualText(), fmtVal(o.Target, o.Unit)), Type: "slo"}
			}
			suite.Cases = append(suite.Cases, tc)
		}
		for _, c := range r.Coverage {
			if c.Min == 0 {
				continue
			}
			tc := junitCase{Name: "coverage " + c.Hazard, Classname: class,
				SystemOut: fmt.Sprintf("count %d, minimum %d", c.Count, c.Min)}
			if c.Short() {
				tc.Failure = &junitFailure{Message: c.Shortfall(), Type: "coverage"}
			}
			suite.Cases = append(suite.Cases, tc)
		}
		for _, f := range r.Faults {
			// A fault is a case too: injected, or skipped with the reason the target gave.
			tc := junitCase{Name: fmt.Sprintf("fault %s at %.1fs", f.Fault, f.Start), Classname: class,
				SystemOut: fmt.Sprintf("injected %.1fs-%.1fs %s", f.Start, f.End, paramList(f.Params))}
			if f.Error != "" {
				tc.SystemOut, tc.Skipped = "", &junitSkipped{Message: "not injected: " + f.Error}
			}
			suite.Cases = append(suite.Cases, tc)
		}
		if r.Shadow != nil {
			suite.Cases = append(suite.Cases, shadowCase(r.Shadow, class))
		}
		suite.count()
		out.Tests += suite.Tests
		out.Failures += suite.Failures
		out.Suites = append(out.Suites, suite)
	}
	if suite, ok := gateJUnit(s); ok {
		out.Tests += suite.Tests
		out.Failures += suite.Failures
		out.Suites = append(out.Suites, suite)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// count sets the suite's tests, failures and skipped from its cases.
func (s *junitSuite) count() {
	for _, c := range s.Cases {
		s.Tests++
		if c.Failure != nil {
			s.Failures++
		}
		if c.Skipped != nil {
			s.Skipped++
		}
	}
}
