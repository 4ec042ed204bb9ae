package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"html"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var screenshots = flag.String("screenshots", "", "save the browser test's screenshots of report.html in this directory")

// pageWidth is the browser window's width: a laptop screen.
const pageWidth = 1400

// chromium finds Debian's headless browser, skipping outside CI when it is not installed.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install chromium); .ci/run installs it")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// runChromium loads page in a fresh headless Chromium, pageWidth wide and height high, with
// the extra flags, returning its standard output and error.
func runChromium(t *testing.T, bin, page string, height int, extra ...string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0",
		"--hide-scrollbars", "--window-size=" + itoa(pageWidth) + "," + itoa(height)}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

// consoleErrors are the errors a page logged, from Chromium's log.
func consoleErrors(stderr string) []string {
	var errs []string
	console := regexp.MustCompile(`CONSOLE.*|Uncaught.*|Failed to load resource.*`)
	for _, line := range strings.Split(stderr, "\n") {
		if m := console.FindString(line); m != "" {
			errs = append(errs, m)
		}
	}
	return errs
}

// browse loads page in headless Chromium, returning the console errors it logged and a
// screenshot of the window.
func browse(t *testing.T, bin, page string, height int) ([]string, image.Image) {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "shot.png")
	_, stderr := runChromium(t, bin, page, height, "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, stderr)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	return consoleErrors(stderr), img
}

// box is where an element was drawn on the page, in CSS pixels.
type box struct{ X, Y, W, H float64 }

func (b box) overlaps(o box) bool {
	const slack = 1 // anti-aliasing and rounding
	return b.X+b.W-slack > o.X && o.X+o.W-slack > b.X && b.Y+b.H-slack > o.Y && o.Y+o.H-slack > b.Y
}

func (b box) inside(o box) bool {
	const slack = 1
	return b.X >= o.X-slack && b.Y >= o.Y-slack && b.X+b.W <= o.X+o.W+slack && b.Y+b.H <= o.Y+o.H+slack
}

// drawnChart is what the browser drew of one chart: its box, every text with its box, and the
// bands.
type drawnChart struct {
	Title string
	Box   box
	Texts []struct {
		Class, Text string
		Box         box
	}
	Bands []struct {
		Name string
		Box  box
	}
}

type drawnPage struct {
	ScrollWidth float64
	Charts      []drawnChart
}

// probeScript measures every chart once the page is laid out and writes the measures into
// the page as JSON, for --dump-dom to bring out. The report itself has no script: the probe
// goes into a copy.
const probeScript = `<script>
(function () {
  function box(e) { var r = e.getBoundingClientRect(); return {X: r.left + scrollX, Y: r.top + scrollY, W: r.width, H: r.height}; }
  var out = {ScrollWidth: document.documentElement.scrollWidth, Charts: []};
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    var c = {Title: svg.getAttribute("aria-label"), Box: box(svg), Texts: [], Bands: []};
    svg.querySelectorAll("text").forEach(function (t) { c.Texts.push({Class: t.getAttribute("class") || "", Text: t.textContent, Box: box(t)}); });
    svg.querySelectorAll("rect.band").forEach(function (r) { c.Bands.push({Name: r.getAttribute("data-band"), Box: box(r)}); });
    out.Charts.push(c);
  });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>`

// measure lays page out in headless Chromium and returns what it drew and the console errors
// it logged.
func measure(t *testing.T, bin, page string) (drawnPage, []string) {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join(t.TempDir(), "probe.html")
	if err := os.WriteFile(probe, bytes.Replace(b, []byte("</body>"), []byte(probeScript+"</body>"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, stderr := runChromium(t, bin, probe, 1000, "--dump-dom")
	m := regexp.MustCompile(`(?s)<pre id="probe">(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe wrote nothing: %s", stderr)
	}
	var p drawnPage
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &p); err != nil {
		t.Fatalf("probe: %v", err)
	}
	return p, consoleErrors(stderr)
}

// countNear counts pixels within tol of the colour r, g, b.
func countNear(img image.Image, r, g, b, tol int) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if abs(int(pr>>8)-r) <= tol && abs(int(pg>>8)-g) <= tol && abs(int(pb>>8)-b) <= tol {
				n++
			}
		}
	}
	return n
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestReportInBrowser renders report.html in headless Chromium, 1400 pixels wide: no console
// errors, nothing wider than the window; in every chart every text drawn, inside its chart
// and clear of every other text; every strategy named in the comparison charts; every fault
// window one band with its fault's name above it; and the screenshot shows the outcome
// colours and the fault shading. With -screenshots DIR it keeps the screenshots.
func TestReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	bin := chromium(t)
	for _, tt := range []struct {
		name    string
		summary *Summary
		shot    bool // take a screenshot of the verdict, the comparison and the first run
	}{
		{"sample", sample(), false},
		{"demo", demo(t), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Write(dir, tt.summary); err != nil {
				t.Fatalf("Write: %v", err)
			}
			page := filepath.Join(dir, HTMLFile)
			drawn, errs := measure(t, bin, page)
			if len(errs) > 0 {
				t.Errorf("console errors: %q", errs)
			}
			checkDrawn(t, tt.summary, drawn)
			if !tt.shot {
				return
			}
			errs, img := browse(t, bin, page, 2400)
			if len(errs) > 0 {
				t.Errorf("console errors: %q", errs)
			}
			if *screenshots != "" {
				saveScreenshot(t, img, filepath.Join(*screenshots, "report-"+tt.name+".png"))
			}
			checkPixels(t, img)
		})
	}

	// The detector itself must see a console error when there is one.
	bad := filepath.Join(t.TempDir(), "bad.html")
	if err := os.WriteFile(bad, []byte(`<!DOCTYPE html><html><body><script>console.error("boom")</script></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if errs, _ := browse(t, bin, bad, 600); len(errs) == 0 {
		t.Errorf("a page that logs console.error showed no console errors: the check is blind")
	}
}

func checkDrawn(t *testing.T, s *Summary, p drawnPage) {
	t.Helper()
	if p.ScrollWidth > pageWidth {
		t.Errorf("the page is %.0f px wide in a %d px window", p.ScrollWidth, pageWidth)
	}
	byTitle := map[string][]drawnChart{}
	for _, c := range p.Charts {
		byTitle[c.Title] = append(byTitle[c.Title], c)
		for i, a := range c.Texts {
			if a.Box.W <= 0 || a.Box.H <= 0 {
				t.Errorf("%s: text %q (%s) is not drawn", c.Title, a.Text, a.Class)
				continue
			}
			if !a.Box.inside(c.Box) {
				t.Errorf("%s: text %q (%s) at %+v runs out of the chart %+v", c.Title, a.Text, a.Class, a.Box, c.Box)
			}
			for _, b := range c.Texts[i+1:] {
				if a.Box.overlaps(b.Box) {
					t.Errorf("%s: text %q (%s) at %+v overlaps %q (%s) at %+v", c.Title, a.Text, a.Class, a.Box, b.Text, b.Class, b.Box)
				}
			}
		}
	}
	for _, title := range []string{"Throughput by strategy", "p99 latency by strategy"} {
		if len(byTitle[title]) != 1 {
			t.Errorf("%d charts %q drawn, want 1", len(byTitle[title]), title)
			continue
		}
		drawn := map[string]bool{}
		for _, x := range byTitle[title][0].Texts {
			if x.Class == "category" {
				drawn[x.Text] = true
			}
		}
		for _, r := range s.Runs {
			if !drawn[r.Strategy+"/"+r.DB] {
				t.Errorf("%s: %s/%s has no label", title, r.Strategy, r.DB)
			}
		}
	}
	for _, title := range []string{"Requests per second by outcome", "Hold latency per second"} {
		for i, c := range byTitle[title] {
			var want []string
			for _, f := range s.Runs[i].Faults {
				if f.Error == "" {
					want = append(want, f.Fault)
				}
			}
			if len(c.Bands) != len(want) {
				t.Errorf("%s of run %d: %d bands drawn, want one per injected fault %q", title, i, len(c.Bands), want)
				continue
			}
			for j, b := range c.Bands {
				if b.Name != want[j] || b.Box.W < 2 {
					t.Errorf("%s of run %d: band %d is %q, %.1f px wide; want %q, seen", title, i, j, b.Name, b.Box.W, want[j])
				}
				// Its label is drawn above it, starting over it (or ending at the plot's edge).
				labelled := false
				for _, x := range c.Texts {
					if x.Class == "band-label" && x.Text == b.Name && x.Box.Y+x.Box.H <= b.Box.Y+1 &&
						x.Box.X <= b.Box.X+b.Box.W && x.Box.X+x.Box.W >= b.Box.X {
						labelled = true
					}
				}
				if !labelled {
					t.Errorf("%s of run %d: band %q at %+v has no label above it", title, i, b.Name, b.Box)
				}
			}
		}
	}
}

func checkPixels(t *testing.T, img image.Image) {
	t.Helper()
	for _, c := range []struct {
		name    string
		r, g, b int
		least   int
	}{
		{"ok green", 0x1e, 0x8e, 0x3e, 2000},
		{"refused grey", 0x9a, 0xa0, 0xa6, 1000},
		{"fault shading", 246, 220, 219, 2000}, // the band colour at 16% over white
	} {
		if n := countNear(img, c.r, c.g, c.b, 8); n < c.least {
			t.Errorf("screenshot has %d pixels of %s, want at least %d", n, c.name, c.least)
		}
	}
}

func saveScreenshot(t *testing.T, img image.Image, path string) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("screenshot: %s", path)
}
