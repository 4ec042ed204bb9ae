package reports

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Provenance says where a summary's numbers came from: which stampede, which scenario, which
// seeds, on what machine, against which versions of the services. Two summaries compare
// fairly when their provenances agree; the compare package warns where they do not.
type Provenance struct {
	// Version is stampede's version; Revision the VCS revision it was built from and Modified
	// whether that tree had uncommitted changes (both empty when the build did not record
	// them, as with go test or -buildvcs=false).
	Version  string `json:"version,omitempty"`
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// GoVersion is the Go toolchain stampede was built with.
	GoVersion string `json:"go_version,omitempty"`
	// ScenarioHash is "sha256:" and the hex SHA-256 of the scenario file as read (see
	// ScenarioHash); empty when the scenario did not come from a file.
	ScenarioHash string `json:"scenario_hash,omitempty"`
	// Seeds are the seeds the runs used, one per repetition, in order.
	Seeds   []int64 `json:"seeds,omitempty"`
	Machine Machine `json:"machine"`
	// Services maps each backing service and the system under test to its version
	// ("postgres": "15.4", "redis": "7.2.4"); the runner fills it as it learns them.
	Services map[string]string `json:"services,omitempty"`
	// LocalStorage is where the local services the runs started kept their data ("memory
	// (tmpfs /dev/shm)", "disk (/tmp)"): on disk every commit waits for the machine's disk;
	// empty when the runs started none (--env external, --target).
	LocalStorage string `json:"local_storage,omitempty"`
}

// Machine is the machine stampede ran on.
type Machine struct {
	// Cores is the number of logical CPUs usable by the process.
	Cores int `json:"cores"`
	// MemoryBytes is the machine's total memory; 0 when unknown (outside Linux).
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	// CPU is the processor's model name where the system tells it.
	CPU string `json:"cpu,omitempty"`
}

// NewProvenance describes this process: version (when empty, the module version from the
// build information), the VCS revision and Go version from the build information, the
// scenario's hash (of its source; nil leaves it empty), the seeds and the machine. Services
// is left for the caller.
func NewProvenance(version string, scenario []byte, seeds ...int64) Provenance {
	p := ThisBuild(version)
	if scenario != nil {
		p.ScenarioHash = ScenarioHash(scenario)
	}
	p.Seeds = append([]int64(nil), seeds...)
	p.Machine = ThisMachine()
	return p
}

// ThisBuild describes this binary from its build information: the version (when empty, the
// module version), the VCS revision, whether its tree was modified, and the Go version. The
// other fields are empty. It is what `stampede version` prints.
func ThisBuild(version string) Provenance {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi, version)
}

// fromBuildInfo reads the version, VCS revision and Go version from bi (which may be nil).
func fromBuildInfo(bi *debug.BuildInfo, version string) Provenance {
	p := Provenance{Version: version}
	if bi == nil {
		return p
	}
	p.GoVersion = bi.GoVersion
	if p.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		p.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			p.Revision = s.Value
		case "vcs.modified":
			p.Modified = s.Value == "true"
		}
	}
	return p
}

// ScenarioHash returns "sha256:" and the hex SHA-256 of a scenario file's bytes. Any edit,
// comments and spacing included, changes it: the hash says "the same file", not "the same
// load".
func ScenarioHash(src []byte) string {
	sum := sha256.Sum256(src)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ThisMachine describes the machine the process runs on.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		// "16318480 kB"
		if kb, err := strconv.ParseUint(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
			m.MemoryBytes = kb * 1024
		}
	}
	m.CPU = procField("/proc/cpuinfo", "model name")
	return m
}

// procField returns the value of the first `key: value` line of a /proc file, or "" when
// there is none (or no such file, outside Linux).
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
