package infra

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/goccy/go-yaml"

	"stampede/server"
	"stampede/strategies"
)

// No Docker engine runs where the tests do, so these tests read docker-compose.yml, the
// Dockerfile, the server's options (server.Options) and the processor command's flag
// definitions, and check that they agree.

type composeFile struct {
	Name     string                    `yaml:"name"`
	Stampede composeService            `yaml:"x-stampede"` // the anchor the stampede services merge
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Profiles    []string          `yaml:"profiles"`
	Restart     string            `yaml:"restart"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// repoRoot is where docker-compose.yml lives, one level above this package.
const repoRoot = ".."

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatalf("read docker-compose.yml: %v", err)
	}
	var f composeFile
	if err := yaml.UnmarshalWithOptions(b, &f, yaml.Strict()); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	return f
}

// stampedeServices are the services that run the stampede image, with the subcommand each runs.
var stampedeServices = map[string]string{"psp": "psp", "server": "serve", "server-mysql": "serve"}

func TestComposeServices(t *testing.T) {
	f := loadCompose(t)
	images := map[string][]string{
		"postgres": {"postgres:15"},
		"mysql":    {"mariadb:10.11", "mysql:8"},
		"redis":    {"redis:7"},
	}
	for name, want := range images {
		s, ok := f.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		if !slices.Contains(want, s.Image) {
			t.Errorf("service %s image %q, want one of %v", name, s.Image, want)
		}
	}
	for name, sub := range stampedeServices {
		s, ok := f.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		if s.Build == nil || filepath.Clean(s.Build.Context) != "." || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("service %s build = %+v, want context . and the Dockerfile", name, s.Build)
		}
		if len(s.Command) == 0 || s.Command[0] != sub {
			t.Errorf("service %s command %v, want stampede %s", name, s.Command, sub)
		}
	}
}

func TestComposeHealthChecksAndPorts(t *testing.T) {
	f := loadCompose(t)
	// listen is the container port each service listens on.
	listen := map[string]string{"postgres": "5432", "mysql": "3306", "redis": "6379", "prometheus": "9090", "grafana": "3000"}
	if _, port, err := net.SplitHostPort(runMetricsAddr(t, f)); err == nil {
		listen["run"] = port
	}
	for name := range stampedeServices {
		env := f.Services[name].Environment
		addr := env["STAMPEDE_ADDR"]
		if name == "psp" {
			addr = env["STAMPEDE_PSP_ADDR"]
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "0.0.0.0" {
			t.Errorf("service %s listens on %q, want 0.0.0.0:PORT so other containers reach it (%v)", name, addr, err)
		}
		listen[name] = port
	}
	hostPorts := map[string]string{}
	for name, s := range f.Services {
		t.Run(name, func(t *testing.T) {
			hc := s.Healthcheck
			if hc == nil || len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") {
				t.Fatalf("healthcheck = %+v, want a CMD or CMD-SHELL test", hc)
			}
			if hc.Interval == "" || hc.Retries == 0 {
				t.Errorf("healthcheck interval %q retries %d, want both set", hc.Interval, hc.Retries)
			}
			if _, ok := stampedeServices[name]; ok {
				want := "http://127.0.0.1:" + listen[name] + "/healthz"
				if !slices.Contains(hc.Test, want) {
					t.Errorf("healthcheck %v does not ask %s", hc.Test, want)
				}
			}
			if len(s.Ports) == 0 {
				t.Fatalf("no published ports")
			}
			for _, p := range s.Ports {
				parts := strings.Split(p, ":")
				if len(parts) != 3 || parts[0] != "127.0.0.1" {
					t.Errorf("port %q: want 127.0.0.1:HOST:CONTAINER (loopback only)", p)
					continue
				}
				if parts[2] != listen[name] {
					t.Errorf("port %q publishes container port %s, but the service listens on %s", p, parts[2], listen[name])
				}
				if other, dup := hostPorts[parts[1]]; dup {
					t.Errorf("host port %s published by %s and %s", parts[1], other, name)
				}
				hostPorts[parts[1]] = name
			}
		})
	}
}

// runMetricsAddr is where the run service's driver serves its metrics (--metrics-addr), "" when
// there is no run service.
func runMetricsAddr(t *testing.T, f composeFile) string {
	t.Helper()
	run, ok := f.Services["run"]
	if !ok {
		return ""
	}
	m := regexp.MustCompile(`--metrics-addr[ =](\S+)`).FindStringSubmatch(strings.Join(run.Command, " "))
	if m == nil {
		t.Fatalf("the run service's command %q serves no metrics (--metrics-addr)", run.Command)
	}
	return m[1]
}

// TestComposeRun checks the run service: the stampede image, a one-off (no restart), after the
// server it drives, its runs kept in a named volume.
func TestComposeRun(t *testing.T) {
	f := loadCompose(t)
	run, ok := f.Services["run"]
	if !ok {
		t.Skip("no run service")
	}
	if run.Image != f.Stampede.Image || run.Build == nil || run.Build.Dockerfile != "Dockerfile" {
		t.Errorf("run: image %q build %+v, want the stampede image %q built from the Dockerfile", run.Image, run.Build, f.Stampede.Image)
	}
	if run.Restart != "" && run.Restart != "no" {
		t.Errorf("run: restart %q, want none: the run happens once", run.Restart)
	}
	target := regexp.MustCompile(`^http://([a-z-]+):(\d+)$`).FindStringSubmatch(run.Environment["TARGET"])
	if target == nil {
		t.Fatalf("run: TARGET %q, want http://SERVICE:PORT", run.Environment["TARGET"])
	}
	_, port, _ := net.SplitHostPort(f.Services[target[1]].Environment["STAMPEDE_ADDR"])
	if _, ok := stampedeServices[target[1]]; !ok || port != target[2] {
		t.Errorf("run: TARGET %s is not a reference server of the file (it listens on %s)", run.Environment["TARGET"], port)
	}
	if d, ok := run.DependsOn[target[1]]; !ok || d.Condition != "service_healthy" {
		t.Errorf("run: depends_on %v, want %s healthy", run.DependsOn, target[1])
	}
	for _, v := range run.Volumes {
		name, _, _ := strings.Cut(v, ":")
		if _, ok := f.Volumes[name]; !ok {
			t.Errorf("run: volume %s is not a named volume of the file", v)
		}
	}
}

// TestComposeMountsExist: every file or directory a service mounts from the repository is
// there.
func TestComposeMountsExist(t *testing.T) {
	f := loadCompose(t)
	for name, s := range f.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, "./") {
				continue
			}
			if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
				t.Errorf("service %s mounts %s: %v", name, src, err)
			}
		}
	}
}

func TestComposeServerEnvironment(t *testing.T) {
	f := loadCompose(t)
	// The server's flags are server.Options' (RegisterFlags), read from STAMPEDE_<FLAG> too.
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	o := server.DefaultOptions()
	o.RegisterFlags(fs)
	var serveFlags []string
	fs.VisitAll(func(f *flag.Flag) { serveFlags = append(serveFlags, f.Name) })
	// Every server sets where it listens, its strategy, what it uses and the hold lifetime.
	o.Addr, o.Strategy, o.DB, o.Redis, o.PSP, o.HoldTTL = "x", "x", "x", "x", "x", time.Minute
	var required []string
	for _, kv := range o.Env() {
		k, _, _ := strings.Cut(kv, "=")
		required = append(required, k)
	}
	for _, name := range []string{"server", "server-mysql"} {
		t.Run(name, func(t *testing.T) {
			s := f.Services[name]
			env := s.Environment
			for k := range env {
				if !slices.Contains(serveFlags, envFlag(k, server.EnvPrefix)) {
					t.Errorf("environment %s names no flag of stampede serve (flags %v)", k, serveFlags)
				}
			}
			for _, k := range required {
				if env[k] == "" {
					t.Errorf("environment %s missing", k)
				}
			}
			if st := env["STAMPEDE_STRATEGY"]; !slices.Contains(strategies.Safe(), st) {
				t.Errorf("STAMPEDE_STRATEGY %q, want a safe strategy of %v", st, strategies.Safe())
			}

			// The database: a valid DSN whose host, port and credentials are the database service's.
			dsn := env["STAMPEDE_DB"]
			var dbService string
			switch {
			case strings.HasPrefix(dsn, "postgres://"):
				if _, err := parsePostgres(dsn); err != nil {
					t.Fatalf("STAMPEDE_DB: %v", err)
				}
				u, _ := url.Parse(dsn)
				dbService = u.Hostname()
				pg := f.Services[dbService]
				pass, _ := u.User.Password()
				if !strings.HasPrefix(pg.Image, "postgres:") || u.Port() != "5432" ||
					u.User.Username() != pg.Environment["POSTGRES_USER"] || pass != pg.Environment["POSTGRES_PASSWORD"] ||
					strings.TrimPrefix(u.Path, "/") != pg.Environment["POSTGRES_DB"] {
					t.Errorf("STAMPEDE_DB %s does not match service %s (image %q, environment %v)", dsn, dbService, pg.Image, pg.Environment)
				}
			case strings.HasPrefix(dsn, "mysql://"):
				if _, err := parseMySQL(dsn); err != nil {
					t.Fatalf("STAMPEDE_DB: %v", err)
				}
				cfg, _ := mysql.ParseDSN(strings.TrimPrefix(dsn, "mysql://"))
				host, port, _ := net.SplitHostPort(cfg.Addr)
				dbService = host
				my := f.Services[dbService]
				if !strings.HasPrefix(my.Image, "mariadb:") && !strings.HasPrefix(my.Image, "mysql:") || port != "3306" ||
					cfg.User != "root" || cfg.Passwd != firstOf(my.Environment, "MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD") ||
					cfg.DBName != firstOf(my.Environment, "MARIADB_DATABASE", "MYSQL_DATABASE") {
					t.Errorf("STAMPEDE_DB %s does not match service %s (image %q, environment %v)", dsn, dbService, my.Image, my.Environment)
				}
			default:
				t.Fatalf("STAMPEDE_DB %q is neither postgres:// nor mysql://", dsn)
			}

			addr, err := parseRedis(env["STAMPEDE_REDIS"])
			if err != nil {
				t.Fatalf("STAMPEDE_REDIS: %v", err)
			}
			if addr != "redis:6379" || !strings.HasPrefix(f.Services["redis"].Image, "redis:") {
				t.Errorf("STAMPEDE_REDIS %s: want the redis service at redis:6379", env["STAMPEDE_REDIS"])
			}

			psp, err := url.Parse(env["STAMPEDE_PSP"])
			if err != nil {
				t.Fatalf("STAMPEDE_PSP: %v", err)
			}
			_, pspPort, _ := net.SplitHostPort(f.Services["psp"].Environment["STAMPEDE_PSP_ADDR"])
			if psp.Scheme != "http" || psp.Hostname() != "psp" || psp.Port() != pspPort {
				t.Errorf("STAMPEDE_PSP %s: want http://psp:%s, the processor service", env["STAMPEDE_PSP"], pspPort)
			}

			// Everything it reaches must be healthy before it starts.
			for _, dep := range []string{dbService, "redis", "psp"} {
				if d, ok := s.DependsOn[dep]; !ok || d.Condition != "service_healthy" {
					t.Errorf("depends_on %s = %+v, want condition service_healthy", dep, d)
				}
			}
		})
	}
	if a, b := f.Services["server"].Environment["STAMPEDE_REDIS"], f.Services["server-mysql"].Environment["STAMPEDE_REDIS"]; a == b {
		t.Errorf("both servers use Redis %s: their keys would collide", a)
	}
}

func TestComposeProcessorEnvironment(t *testing.T) {
	f := loadCompose(t)
	flags := commandFlags(t, "psp.go")
	if !slices.Contains(flags, "addr") {
		t.Fatalf("flags of stampede psp = %v, want --addr among them", flags)
	}
	for k := range f.Services["psp"].Environment {
		if !slices.Contains(flags, envFlag(k, "STAMPEDE_PSP_")) {
			t.Errorf("psp environment %s names no flag of stampede psp (flags %v)", k, flags)
		}
	}
}

func TestComposeDependsOnExisting(t *testing.T) {
	f := loadCompose(t)
	for name, s := range f.Services {
		for dep, d := range s.DependsOn {
			if _, ok := f.Services[dep]; !ok {
				t.Errorf("%s depends on %s, which is not a service", name, dep)
			}
			if d.Condition != "service_healthy" {
				t.Errorf("%s depends on %s with condition %q, want service_healthy", name, dep, d.Condition)
			}
		}
	}
}

func TestComposePrometheus(t *testing.T) {
	f := loadCompose(t)
	p, ok := f.Services["prometheus"]
	if !ok {
		t.Skip("no prometheus service")
	}
	var config string
	for _, v := range p.Volumes {
		if src, dst, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(dst, "/etc/prometheus/prometheus.yml") {
			config = src
		}
	}
	if config == "" {
		t.Fatalf("volumes %v mount no /etc/prometheus/prometheus.yml", p.Volumes)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, config))
	if err != nil {
		t.Fatalf("read the mounted config: %v", err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("parse %s: %v", config, err)
	}
	scraped := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				scraped[target] = true
			}
		}
	}
	for _, name := range []string{"server", "server-mysql"} {
		_, port, _ := net.SplitHostPort(f.Services[name].Environment["STAMPEDE_ADDR"])
		if !scraped[name+":"+port] {
			t.Errorf("prometheus scrapes %v, not %s:%s", scraped, name, port)
		}
	}
	if addr := runMetricsAddr(t, f); addr != "" {
		_, port, _ := net.SplitHostPort(addr)
		if !scraped["run:"+port] {
			t.Errorf("prometheus scrapes %v, not the run service's driver at run:%s", scraped, port)
		}
	}
}

// TestComposeGrafana: Grafana has the compose Prometheus as its data source, under the uid the
// dashboards name, and loads the dashboards from the directory mounted for them.
func TestComposeGrafana(t *testing.T) {
	f := loadCompose(t)
	g, ok := f.Services["grafana"]
	if !ok {
		t.Skip("no grafana service")
	}
	mounts := map[string]string{} // container path -> repository path
	for _, v := range g.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			mounts[parts[1]] = parts[0]
		}
	}
	prov, ok := mounts["/etc/grafana/provisioning"]
	if !ok {
		t.Fatalf("volumes %v mount no /etc/grafana/provisioning", g.Volumes)
	}
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, Access, URL string
			IsDefault                    bool           `yaml:"isDefault"`
			JSONData                     map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(repoRoot, prov, "datasources", "prometheus.yaml"), &ds)
	// Grafana reaches Prometheus inside the compose network, on its container port.
	promURL := "http://prometheus:9090"
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID != "prometheus" || ds.Datasources[0].Type != "prometheus" ||
		ds.Datasources[0].URL != promURL {
		t.Errorf("data sources %+v, want one: type prometheus, uid prometheus, at %s", ds.Datasources, promURL)
	}
	var dash struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Type      string
			DisableDeletion bool `yaml:"disableDeletion"`
			AllowUIUpdates  bool `yaml:"allowUiUpdates"`
			Options         struct{ Path string }
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(repoRoot, prov, "dashboards", "stampede.yaml"), &dash)
	if len(dash.Providers) != 1 || mounts[dash.Providers[0].Options.Path] == "" {
		t.Fatalf("dashboard providers %+v, want one whose path is a mounted directory (mounts %v)", dash.Providers, mounts)
	}
	home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	rel, ok := strings.CutPrefix(home, dash.Providers[0].Options.Path+"/")
	if _, err := os.Stat(filepath.Join(repoRoot, mounts[dash.Providers[0].Options.Path], rel)); !ok || err != nil {
		t.Errorf("home dashboard %s is not a file of the mounted dashboards (%v)", home, err)
	}
	if d, ok := g.DependsOn["prometheus"]; !ok || d.Condition != "service_healthy" {
		t.Errorf("grafana depends_on %v, want prometheus healthy", g.DependsOn)
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalWithOptions(b, into, yaml.Strict()); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	var froms []string
	var build, copyFromBuild, entrypoint bool
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			froms = append(froms, strings.Join(fields[1:], " "))
		case "RUN":
			if len(froms) == 1 && strings.Contains(line, "go build") && strings.HasSuffix(strings.TrimSpace(line), "./cmd/stampede") {
				build = true
			}
		case "COPY":
			if len(froms) > 1 && slices.Contains(fields, "--from=build") {
				copyFromBuild = true
			}
		case "ENTRYPOINT":
			entrypoint = len(froms) > 1 && strings.Contains(line, "stampede")
		}
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "golang:1.26") || !strings.HasSuffix(froms[0], " AS build") {
		t.Errorf("stages FROM %q, want golang:1.26... AS build, then a runtime image", froms)
	}
	if len(froms) == 2 && strings.HasPrefix(froms[1], "golang") {
		t.Errorf("runtime stage FROM %s: want a small image, not the Go toolchain", froms[1])
	}
	if !build {
		t.Error("the build stage does not go build ./cmd/stampede")
	}
	if !copyFromBuild || !entrypoint {
		t.Errorf("runtime stage: COPY --from=build %v, ENTRYPOINT stampede %v; want both", copyFromBuild, entrypoint)
	}
	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatalf("read .dockerignore: %v", err)
	}
	for _, want := range []string{".git", "bin", "runs"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}

// envFlag turns STAMPEDE_HOLD_TTL (with prefix STAMPEDE_) into hold-ttl.
func envFlag(key, prefix string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(key, prefix)), "_", "-")
}

func firstOf(env map[string]string, keys ...string) string {
	for _, k := range keys {
		if v, ok := env[k]; ok {
			return v
		}
	}
	return ""
}

// commandFlags returns the names of the flags a file of cmd/stampede defines through the flag
// package's FlagSet methods (fs.String("name", ...), fs.DurationVar(&v, "name", ...)).
func commandFlags(t *testing.T, file string) []string {
	t.Helper()
	path := filepath.Join(repoRoot, "cmd", "stampede", file)
	parsed, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	definers := map[string]int{ // method -> index of the name argument
		"String": 0, "Bool": 0, "Int": 0, "Int64": 0, "Uint": 0, "Uint64": 0, "Float64": 0, "Duration": 0, "Func": 0, "BoolFunc": 0,
		"StringVar": 1, "BoolVar": 1, "IntVar": 1, "Int64Var": 1, "UintVar": 1, "Uint64Var": 1, "Float64Var": 1, "DurationVar": 1, "Var": 1, "TextVar": 1,
	}
	var names []string
	ast.Inspect(parsed, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		i, ok := definers[sel.Sel.Name]
		if !ok || len(call.Args) <= i {
			return true
		}
		lit, ok := call.Args[i].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		if name, err := strconv.Unquote(lit.Value); err == nil {
			names = append(names, name)
		}
		return true
	})
	return names
}
