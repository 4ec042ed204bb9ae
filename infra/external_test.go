package infra_test

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"stampede/infra"
	"stampede/sut"
)

// setEnv sets the four STAMPEDE_* variables for one test; unset ones are empty.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range []string{infra.EnvPostgres, infra.EnvMySQL, infra.EnvRedis, infra.EnvTarget} {
		t.Setenv(k, env[k])
	}
}

func TestExternal(t *testing.T) {
	const (
		pg     = "postgres://app:secret@db.example:6543/tickets?sslmode=disable"
		my     = "mysql://root:secret@tcp(10.0.0.7:3307)/tickets"
		rd     = "redis://:secret@cache.example:6380/2"
		target = "https://booking.example:8443"
	)
	type addrs struct{ pg, my, rd string }
	tests := []struct {
		name    string
		flags   infra.Endpoints
		env     map[string]string
		want    infra.Endpoints // the URLs the Services carry
		addrs   addrs
		wantErr []string // substrings the error must hold; nil means no error
	}{
		{
			name:  "all from flags",
			flags: infra.Endpoints{Postgres: pg, MySQL: my, Redis: rd, Target: target},
			want:  infra.Endpoints{Postgres: pg, MySQL: my, Redis: rd, Target: target},
			addrs: addrs{"db.example:6543", "10.0.0.7:3307", "cache.example:6380"},
		},
		{
			name:  "all from the environment",
			env:   map[string]string{infra.EnvPostgres: pg, infra.EnvMySQL: my, infra.EnvRedis: rd, infra.EnvTarget: target},
			want:  infra.Endpoints{Postgres: pg, MySQL: my, Redis: rd, Target: target},
			addrs: addrs{"db.example:6543", "10.0.0.7:3307", "cache.example:6380"},
		},
		{
			name:  "a flag wins over the environment",
			flags: infra.Endpoints{Postgres: "postgresql://u@other:5432/db"},
			env:   map[string]string{infra.EnvPostgres: pg, infra.EnvRedis: rd},
			want:  infra.Endpoints{Postgres: "postgresql://u@other:5432/db", Redis: rd},
			addrs: addrs{pg: "other:5432", rd: "cache.example:6380"},
		},
		{
			name:  "default ports",
			flags: infra.Endpoints{Postgres: "postgres://u@h/db", MySQL: "mysql://root@tcp(m)/db", Target: "http://sut"},
			want:  infra.Endpoints{Postgres: "postgres://u@h/db", MySQL: "mysql://root@tcp(m)/db", Target: "http://sut"},
			addrs: addrs{pg: "h:5432", my: "m:3306"},
		},
		{
			name:  "unix sockets",
			flags: infra.Endpoints{MySQL: "mysql://root@unix(/run/mysqld/mysqld.sock)/db", Redis: "unix:///run/redis.sock"},
			want:  infra.Endpoints{MySQL: "mysql://root@unix(/run/mysqld/mysqld.sock)/db", Redis: "unix:///run/redis.sock"},
			addrs: addrs{my: "/run/mysqld/mysqld.sock", rd: "/run/redis.sock"},
		},
		{
			name:    "nothing given",
			wantErr: []string{"none given", "STAMPEDE_PG", "--target"},
		},
		{
			name:    "postgres flag with a mysql DSN",
			flags:   infra.Endpoints{Postgres: my},
			wantErr: []string{"--pg:", "not a PostgreSQL URL", "postgres://user"},
		},
		{
			name:    "postgres without a database",
			flags:   infra.Endpoints{Postgres: "postgres://u@h:5432"},
			wantErr: []string{"--pg:", "names no database"},
		},
		{
			name:    "postgres with a bad parameter hides the password",
			flags:   infra.Endpoints{Postgres: "postgres://u:secret@h:5432/db?sslmode=sometimes"},
			wantErr: []string{"--pg:", "sslmode"},
		},
		{
			name:    "mysql from the environment without the prefix",
			env:     map[string]string{infra.EnvMySQL: "root:secret@tcp(h:3306)/db"},
			wantErr: []string{"STAMPEDE_MYSQL:", "lacks the mysql:// prefix"},
		},
		{
			name:  "mysql written as a URL",
			flags: infra.Endpoints{MySQL: "mysql://root:secret@h:3307/db"},
			want:  infra.Endpoints{MySQL: "mysql://root:secret@tcp(h:3307)/db"},
			addrs: addrs{my: "h:3307"},
		},
		{
			name:  "mysql written as a URL without a port",
			env:   map[string]string{infra.EnvMySQL: "mysql://root@127.0.0.1/test"},
			want:  infra.Endpoints{MySQL: "mysql://root@tcp(127.0.0.1:3306)/test"},
			addrs: addrs{my: "127.0.0.1:3306"},
		},
		{
			name:    "mysql without a database",
			flags:   infra.Endpoints{MySQL: "mysql://root@tcp(h:3306)/"},
			wantErr: []string{"--mysql:", "names no database"},
		},
		{
			name:    "mysql with a bad port",
			flags:   infra.Endpoints{MySQL: "mysql://root@tcp(h:)/db"},
			wantErr: []string{"--mysql:", "address \"h:\""},
		},
		{
			name:    "redis with the wrong scheme",
			env:     map[string]string{infra.EnvRedis: "http://:secret@cache:6379"},
			wantErr: []string{"STAMPEDE_REDIS:", "Redis URL", "redis://"},
		},
		{
			name:    "target without a scheme",
			flags:   infra.Endpoints{Target: "booking.example:8080"},
			wantErr: []string{"--target:", "want http or https"},
		},
		{
			name:    "target with a query",
			flags:   infra.Endpoints{Target: "http://booking.example/?a=b"},
			wantErr: []string{"--target:", "without query"},
		},
		{
			name:    "every bad endpoint is named",
			flags:   infra.Endpoints{Postgres: "pg://x", Redis: "nope"},
			env:     map[string]string{infra.EnvMySQL: "mysql://x"},
			wantErr: []string{"--pg:", "STAMPEDE_MYSQL:", "--redis:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			s, err := infra.External(tt.flags)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("External(%+v) returned no error, want one saying %q", tt.flags, tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("External error %q does not say %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("External error %q shows a password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("External(%+v): %v", tt.flags, err)
			}
			got := infra.Endpoints{Postgres: s.PostgresURL, MySQL: s.MySQLDSN, Redis: s.RedisURL, Target: s.TargetURL}
			if got != tt.want {
				t.Errorf("External URLs = %+v, want %+v", got, tt.want)
			}
			for _, c := range []struct {
				target sut.Service
				name   string
				addr   string
			}{{s.Postgres, "postgres", tt.addrs.pg}, {s.MySQL, "mysql", tt.addrs.my}, {s.Redis, "redis", tt.addrs.rd}} {
				if c.addr == "" {
					if c.target != nil {
						t.Errorf("target %s = %v, want nil: the service was not given", c.name, c.target)
					}
					continue
				}
				if c.target == nil || c.target.Name() != c.name || c.target.Addr() != c.addr {
					t.Errorf("target %s = %v, want name %s at %s", c.name, c.target, c.name, c.addr)
				}
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close of external services: %v", err)
			}
		})
	}
}

func TestExternalTargetsCannotBeFaulted(t *testing.T) {
	setEnv(t, nil)
	s, err := infra.External(infra.Endpoints{Postgres: "postgres://u@h:5432/db", Redis: "redis://h:6379/0"})
	if err != nil {
		t.Fatalf("External: %v", err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"kill redis", func() error { return sut.Kill(s.Redis) }, "kill redis at h:6379"},
		{"pause postgres", func() error { return sut.Pause(s.Postgres) }, "pause postgres"},
		{"resume postgres", func() error { return sut.Resume(s.Postgres) }, "resume postgres"},
		{"restart redis", func() error { return sut.Restart(ctx, s.Redis) }, "restart redis"},
		{"kill a service not in the run", func() error { return sut.Kill(s.MySQL) }, "not part of this run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, sut.ErrUnsupported) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrUnsupported saying %q", err, tt.want)
			}
		})
	}
}

func TestServicesDB(t *testing.T) {
	s := &infra.Services{PostgresURL: "postgres://u@h:5432/db"}
	tests := []struct {
		dialect, want, wantErr string
	}{
		{"postgres", "postgres://u@h:5432/db", ""},
		{"mysql", "", "not part of this run"},
		{"oracle", "", "want postgres or mysql"},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			got, err := s.DB(tt.dialect)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DB(%s) = %q, %v; want an error saying %q", tt.dialect, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DB(%s) = %q, %v; want %q", tt.dialect, got, err, tt.want)
			}
		})
	}
}

func TestRegisterFlags(t *testing.T) {
	var e infra.Endpoints
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	e.RegisterFlags(fs)
	args := []string{"--pg", "postgres://a@b/c", "--mysql", "mysql://r@tcp(h:1)/d", "--redis", "redis://h:1/0", "--target", "http://t"}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	want := infra.Endpoints{Postgres: "postgres://a@b/c", MySQL: "mysql://r@tcp(h:1)/d", Redis: "redis://h:1/0", Target: "http://t"}
	if e != want {
		t.Errorf("after Parse: %+v, want %+v", e, want)
	}
}

// TestServicesWithDB points one database of external services elsewhere: the other DSNs and the
// handles stay, the services given are untouched, and a database not in the run is an error.
func TestServicesWithDB(t *testing.T) {
	svc, err := infra.External(infra.Endpoints{Postgres: "postgres://u@h:5432/db", MySQL: "mysql://root@h:3306/db", Redis: "redis://h:6379/0"})
	if err != nil {
		t.Fatal(err)
	}
	own, err := svc.WithDB("postgres", "postgres://u@h:5432/db?search_path=mine")
	if err != nil {
		t.Fatalf("WithDB: %v", err)
	}
	if got, _ := own.DB("postgres"); got != "postgres://u@h:5432/db?search_path=mine" {
		t.Errorf("DB(postgres) = %q, want the DSN given to WithDB", got)
	}
	if own.MySQLDSN != svc.MySQLDSN || own.RedisURL != svc.RedisURL || own.Postgres != svc.Postgres || own.Redis != svc.Redis {
		t.Errorf("WithDB changed more than the postgres DSN: %+v from %+v", own, svc)
	}
	if svc.PostgresURL != "postgres://u@h:5432/db" {
		t.Errorf("the services given now reach %q, want them untouched", svc.PostgresURL)
	}
	if _, err := (&infra.Services{PostgresURL: "postgres://u@h/db"}).WithDB("mysql", "mysql://x"); err == nil {
		t.Error("WithDB(mysql) on services without MySQL succeeded, want an error")
	}
}
