package reports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"stampede/reports/svg/svgtest"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "stampede", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "1afc0f9e"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name    string
		bi      *debug.BuildInfo
		version string
		want    Provenance
	}{
		{"module version", bi, "", Provenance{Version: "v1.2.3", Revision: "1afc0f9e", Modified: true, GoVersion: "go1.26.8"}},
		{"version from the linker wins", bi, "v9", Provenance{Version: "v9", Revision: "1afc0f9e", Modified: true, GoVersion: "go1.26.8"}},
		{"devel build without VCS", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "",
			Provenance{GoVersion: "go1.26.8"}},
		{"no build information", nil, "dev", Provenance{Version: "dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(tt.bi, tt.version)
			if got.Version != tt.want.Version || got.Revision != tt.want.Revision || got.Modified != tt.want.Modified || got.GoVersion != tt.want.GoVersion {
				t.Errorf("fromBuildInfo(%s) = %+v, want %+v", tt.name, got, tt.want)
			}
		})
	}
}

func TestNewProvenance(t *testing.T) {
	seeds := []int64{7, 8, 9}
	p := NewProvenance("test", []byte("name: quickstart\n"), seeds...)
	seeds[0] = 0
	if p.Version != "test" || len(p.Seeds) != 3 || p.Seeds[0] != 7 {
		t.Errorf("NewProvenance(test, ..., 7, 8, 9) = version %q seeds %v, want test and [7 8 9]", p.Version, p.Seeds)
	}
	if p.ScenarioHash != ScenarioHash([]byte("name: quickstart\n")) || !strings.HasPrefix(p.ScenarioHash, "sha256:") || len(p.ScenarioHash) != 7+64 {
		t.Errorf("scenario hash %q, want sha256: and 64 hex digits", p.ScenarioHash)
	}
	if ScenarioHash([]byte("name: quickstart\n")) == ScenarioHash([]byte("name: quickstart \n")) {
		t.Error("ScenarioHash ignores a change of the file")
	}
	if NewProvenance("", nil).ScenarioHash != "" {
		t.Error("a scenario that is not a file has a hash")
	}
	m := p.Machine
	if m.Cores != runtime.NumCPU() || m.OS != runtime.GOOS || m.Arch != runtime.GOARCH {
		t.Errorf("machine %+v, want %d cores on %s/%s", m, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	}
	if runtime.GOOS == "linux" && m.MemoryBytes < 64<<20 {
		t.Errorf("machine memory %d bytes, want the machine's total from /proc/meminfo", m.MemoryBytes)
	}
}

// TestSummaryProvenance: a summary keeps its provenance through summary.json, and one written
// before provenance existed still loads, without it.
func TestSummaryProvenance(t *testing.T) {
	dir := t.TempDir()
	s := sample()
	p := NewProvenance("test", []byte("x"), 1, 2)
	p.Services = map[string]string{"postgres": "15.4"}
	s.Provenance = &p
	s.Finish()
	if err := Write(dir, s); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Provenance == nil || got.Provenance.Services["postgres"] != "15.4" || got.Provenance.Machine != p.Machine || len(got.Provenance.Seeds) != 2 {
		t.Errorf("loaded provenance %+v, want %+v", got.Provenance, p)
	}

	old := t.TempDir()
	b, err := json.Marshal(map[string]any{"schema": SchemaVersion, "scenario": "quickstart", "runs": []any{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, SummaryFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(old); err != nil || got.Provenance != nil {
		t.Errorf("Load(summary without provenance) = %+v, %v; want no provenance and no error", got, err)
	}
}

func TestSideBySideSVG(t *testing.T) {
	c := SideBySide{Title: "hold p99", Unit: "ms", Labels: []string{"skip-locked/postgres", "redis-lock/<mysql>"},
		Series: []string{"base", "candidate"}, Values: [][]float64{{12, 30}, {15, 29}}}
	svg, err := c.SVG()
	if err != nil {
		t.Fatalf("SVG: %v", err)
	}
	chart, err := svgtest.Parse(string(svg))
	if err != nil {
		t.Fatal(err)
	}
	if chart.Title() != "hold p99" {
		t.Errorf("chart title %q, want hold p99", chart.Title())
	}
	if got := chart.Texts("category"); strings.Join(got, "|") != strings.Join(c.Labels, "|") {
		t.Errorf("chart labels %q, want %q", got, c.Labels)
	}
	if got := chart.Texts("legend-label"); strings.Join(got, "|") != "base|candidate" {
		t.Errorf("chart legend %q, want base and candidate", got)
	}
	if svg, err := (SideBySide{Title: "empty"}).SVG(); err != nil || svg != "" {
		t.Errorf("SVG of an empty chart = %q, %v; want nothing", svg, err)
	}
}
