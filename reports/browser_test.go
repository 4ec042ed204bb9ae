package reports

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

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

// browse loads page in headless Chromium, returning the console errors it logged and a
// screenshot of the page.
func browse(t *testing.T, bin, page string) ([]string, image.Image) {
	t.Helper()
	dir := t.TempDir()
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0",
		"--hide-scrollbars", "--window-size=1100,4800", "--screenshot="+shot, "file://"+page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	var errs []string
	console := regexp.MustCompile(`CONSOLE.*|Uncaught.*|Failed to load resource.*`)
	for _, line := range strings.Split(stderr.String(), "\n") {
		if m := console.FindString(line); m != "" {
			errs = append(errs, m)
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, stderr.String())
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	return errs, img
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

// TestReportInBrowser renders report.html in headless Chromium: no console errors, and the
// screenshot shows the charts (the first series colour in bars and lines, and the shaded fault
// windows).
func TestReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	bin := chromium(t)
	dir := t.TempDir()
	if err := Write(dir, sample()); err != nil {
		t.Fatalf("Write: %v", err)
	}
	errs, img := browse(t, bin, filepath.Join(dir, HTMLFile))
	if len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
	t.Logf("series pixels %d, shading pixels %d", countNear(img, 84, 112, 198, 6), countNear(img, 246, 205, 201, 10))
	if n := countNear(img, 84, 112, 198, 6); n < 5000 {
		t.Errorf("screenshot has %d pixels of the first series colour, want the charts' bars and lines (>= 5000)", n)
	}
	if n := countNear(img, 246, 205, 201, 10); n < 2000 { // fault shading blended on white
		t.Errorf("screenshot has %d pixels of fault-window shading, want >= 2000", n)
	}

	// The detector itself must see a console error when there is one.
	bad := filepath.Join(dir, "bad.html")
	if err := os.WriteFile(bad, []byte(`<!DOCTYPE html><html><body><script>console.error("boom")</script></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if errs, _ := browse(t, bin, bad); len(errs) == 0 {
		t.Errorf("a page that logs console.error showed no console errors: the check is blind")
	}
}
