package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"stampede/internal/proc"
)

// pgDirs are where PostgreSQL's server binaries live outside PATH: Debian and Ubuntu keep them
// per major version, RHEL per version too, Homebrew per formula.
var pgDirs = []string{
	"/usr/lib/postgresql/*/bin",
	"/usr/pgsql-*/bin",
	"/opt/homebrew/opt/postgresql@*/bin",
	"/usr/local/opt/postgresql@*/bin",
	"/opt/homebrew/bin",
	"/usr/local/bin",
	"/usr/local/pgsql/bin",
}

// maxSocketPath is the longest unix socket path the kernel accepts (sun_path less its NUL).
const maxSocketPath = 107

// StartPostgres initialises a PostgreSQL cluster under dir/postgres (initdb: trust
// authentication for the superuser postgres, UTF8, C locale), starts it listening on
// 127.0.0.1 on a free port with its unix socket inside dir, creates the database stampede and
// returns the process and the database URL
// (postgres://postgres@127.0.0.1:PORT/stampede?sslmode=disable). fsync stays on: under a dir
// on disk, commit figures are those of a durable database (on a tmpfs, see Storage, a commit
// survives a killed server but costs no disk). Restart keeps the data directory.
//
// PostgreSQL refuses to run as root. When stampede runs as root, initdb and the server run as
// the user postgres (or nobody when there is no such user) through the child's credentials,
// the cluster directory is owned by that user, and dir and its parents get search permission
// for others (o+x, no read) so that user can reach it. As any other user they run as that user.
//
// A missing initdb gives a *MissingBinaryError naming the postgresql package. The whole
// start takes 2-10 s depending on the machine's load; a restart 1-2 s.
func StartPostgres(ctx context.Context, dir string) (*Process, string, error) {
	return startPostgres(ctx, dir, pgDirs)
}

func startPostgres(ctx context.Context, dir string, search []string) (*Process, string, error) {
	initdb, err := proc.FindBinary("initdb", "postgresql", search...)
	if err != nil {
		return nil, "", err
	}
	// The server must match initdb's version: take the one beside it.
	server := filepath.Join(filepath.Dir(initdb), "postgres")
	if !proc.Executable(server) {
		if server, err = proc.FindBinary("postgres", "postgresql", search...); err != nil {
			return nil, "", err
		}
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, "", fmt.Errorf("start postgres: %w", err)
	}
	base := filepath.Join(dir, "postgres")
	data, sock := filepath.Join(base, "data"), filepath.Join(base, "sock")
	if n := len(filepath.Join(sock, ".s.PGSQL.65535")); n > maxSocketPath {
		return nil, "", fmt.Errorf("start postgres: socket path under %s is %d bytes, over the limit of %d: use a shorter directory", sock, n, maxSocketPath)
	}
	if err := os.MkdirAll(sock, 0o755); err != nil {
		return nil, "", fmt.Errorf("start postgres: %w", err)
	}
	cred, err := unprivileged()
	if err != nil {
		return nil, "", fmt.Errorf("start postgres: %w", err)
	}
	if cred != nil {
		if err := searchableUpTo(dir); err != nil {
			return nil, "", fmt.Errorf("start postgres: %w", err)
		}
		for _, d := range []string{base, sock} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, "", fmt.Errorf("start postgres: hand %s to uid %d: %w", d, cred.Uid, err)
			}
		}
	}
	env := pgEnv()

	// initdb does not sync its files (the cluster lives as long as the run); the server's
	// commits stay durable.
	initLog := filepath.Join(base, "initdb.log")
	if err := proc.RunLogged(ctx, initLog, base, cred, env, initdb,
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
		"--no-sync", "--no-instructions"); err != nil {
		return nil, "", fmt.Errorf("start postgres: initdb: %w", err)
	}

	port, err := proc.FreePort()
	if err != nil {
		return nil, "", err
	}
	args := []string{"-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + sock,
		"-c", "max_connections=200",
		"-c", "logging_collector=off"}
	// After a kill, crash recovery first syncs the data directory. File by file (the default)
	// that took 3-5 s on a busy 2-core machine, one syncfs 0.7-2 s: restart faults are shorter
	// and closer to what a real crash costs. syncfs exists from PostgreSQL 14.
	if pgMajor(ctx, server) >= 14 {
		args = append(args, "-c", "recovery_init_sync_method=syncfs")
	}
	p := proc.New(proc.Config{
		Name:       "postgres",
		Bin:        server,
		Args:       args,
		Dir:        base,
		Port:       port,
		Log:        filepath.Join(base, "postgres.log"),
		Credential: cred,
		Env:        env,
		StopSignal: syscall.SIGINT, // fast shutdown: SIGTERM would wait for every client to leave
		Ready: func(ctx context.Context) error {
			return pgPing(ctx, pgURL(port, "postgres"))
		},
	})
	if err := p.Start(ctx); err != nil {
		return nil, "", err
	}
	if err := pgCreateDatabase(ctx, pgURL(port, "postgres"), "stampede"); err != nil {
		_ = p.Kill()
		return nil, "", fmt.Errorf("start postgres: %w", err)
	}
	return p, pgURL(port, "stampede"), nil
}

// pgMajor is the major version of a postgres binary, 0 when it cannot tell.
func pgMajor(ctx context.Context, server string) int {
	out, err := exec.CommandContext(ctx, server, "--version").Output()
	if err != nil {
		return 0
	}
	// "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
	f := strings.Fields(string(out))
	if len(f) < 3 {
		return 0
	}
	major, _ := strconv.Atoi(strings.SplitN(f[2], ".", 2)[0])
	return major
}

func pgURL(port int, db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, db)
}

// pgEnv is stampede's environment without the PG* variables (they would steer initdb and the
// server) and with the C locale.
func pgEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "LANG=C")
}

func pgPing(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

func pgCreateDatabase(ctx context.Context, url, name string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// unprivileged returns the credentials PostgreSQL runs under when stampede is root: the user
// postgres, or nobody. It returns nil when stampede is not root.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			errs = append(errs, fmt.Errorf("user %s has uid %s gid %s", name, u.Uid, u.Gid))
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root, and no unprivileged user to run postgres as: %w", errors.Join(errs...))
}

// searchableUpTo adds search permission for others (o+x, never read) to dir and every parent
// that lacks it, so an unprivileged child can reach files below dir. Only root calls it.
func searchableUpTo(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("make %s reachable: %w", dir, err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			keep := st.Mode() & (os.ModePerm | os.ModeSticky | os.ModeSetgid | os.ModeSetuid)
			if err := os.Chmod(d, keep|0o001); err != nil {
				return fmt.Errorf("make %s reachable: %w", dir, err)
			}
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}
