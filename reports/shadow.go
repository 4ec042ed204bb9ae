package reports

import (
	"fmt"
	"strings"
	"time"

	"stampede/internal/shadowreport"
)

// Shadow is what a shadow strategy found beside the run's strategy (stampede run --shadow):
// the reference server's GET /admin/shadow as it answered at the end of the run, in the wire
// format shadowreport owns.
type Shadow = shadowreport.Report

// ShadowKind is the divergences of one kind, with the first few as examples.
type ShadowKind = shadowreport.KindCount

// DecodeShadow reads the body of GET /admin/shadow (shadowreport.Decode).
func DecodeShadow(b []byte) (*Shadow, error) { return shadowreport.Decode(b) }

// shadowMarkdown writes the shadow section of one run in report.md.
func shadowMarkdown(b *strings.Builder, s *Shadow) {
	fmt.Fprintf(b, "**Shadow**: %s.\n\n", mdEscape(s.Line()))
	if len(s.Kinds) > 0 {
		b.WriteString("| divergence | count | what | first examples (seats, time, primary / shadow) |\n|---|---:|---|---|\n")
		for _, k := range s.Kinds {
			var ex []string
			for i, d := range k.Examples {
				if i == 3 {
					break
				}
				ex = append(ex, fmt.Sprintf("%s %s at %s: %s / %s", d.Op, d.Where(), d.At.UTC().Format("15:04:05.000"), d.Primary, d.Shadow))
			}
			fmt.Fprintf(b, "| %s | %d | %s | %s |\n", k.Kind, k.Count, mdEscape(k.About), mdEscape(strings.Join(ex, "; ")))
		}
		b.WriteString("\n")
	}
	if len(s.Latency) > 0 {
		fmt.Fprintf(b, "| operation | count | %s p50 | %s p99 | %s p50 | %s p99 |\n|---|---:|---:|---:|---:|---:|\n", s.Primary, s.Primary, s.Shadow, s.Shadow)
		for _, l := range s.Latency {
			fmt.Fprintf(b, "| %s | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", l.Op, l.Primary.Count, l.Primary.P50, l.Primary.P99, l.Shadow.P50, l.Shadow.P99)
		}
		b.WriteString("\n")
	}
}

// shadowCase is the shadow as a JUnit case: it passes, since the run's verdict is the primary's,
// and says what the shadow found; divergences are listed in its output.
func shadowCase(s *Shadow, class string) junitCase {
	var out strings.Builder
	out.WriteString(s.Line())
	for _, k := range s.Kinds {
		fmt.Fprintf(&out, "\n%s: %d (%s)", k.Kind, k.Count, k.About)
		for _, d := range k.Examples {
			fmt.Fprintf(&out, "\n  %s %s at %s: primary %s, shadow %s", d.Op, d.Where(), d.At.UTC().Format(time.RFC3339Nano), d.Primary, d.Shadow)
		}
	}
	for _, l := range s.Latency {
		fmt.Fprintf(&out, "\n%s p99: %s %.1f ms, %s %.1f ms", l.Op, s.Primary, l.Primary.P99, s.Shadow, l.Shadow.P99)
	}
	return junitCase{Name: "shadow " + s.Shadow, Classname: class, SystemOut: out.String()}
}
