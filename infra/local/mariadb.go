package local

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"stampede/internal/proc"
)

// mysqlDirs are where the MariaDB and MySQL server binaries and their set-up scripts live
// outside PATH: Debian keeps the server in /usr/sbin, Homebrew per formula.
var mysqlDirs = []string{
	"/usr/sbin",
	"/usr/bin",
	"/usr/local/sbin",
	"/usr/local/bin",
	"/usr/local/mysql/bin",
	"/usr/local/mysql/scripts",
	"/opt/homebrew/bin",
	"/opt/homebrew/opt/mariadb/bin",
	"/usr/local/opt/mariadb/bin",
	"/opt/homebrew/opt/mysql/bin",
	"/usr/local/opt/mysql/bin",
}

// StartMariaDB initialises a MariaDB (or MySQL) data directory under dir/mariadb, starts the
// server listening on 127.0.0.1 on a free port with its unix socket inside dir, creates the
// database stampede (utf8mb4, binary collation) and returns the process and its DSN,
// mysql://root@tcp(127.0.0.1:PORT)/stampede. root has no password and every privilege, so
// faults can read the processlist and KILL connections. Commits stay durable
// (innodb_flush_log_at_trx_commit=1) and the binary log is off. Restart keeps the data.
//
// MariaDB is set up with mariadb-install-db (or mysql_install_db); a MySQL server with
// mysqld --initialize-insecure (that path is not exercised on Debian machines). When stampede
// runs as root the server runs as root too (--user=root). A missing server gives a
// *MissingBinaryError naming the mariadb-server package. The set-up takes a few seconds.
func StartMariaDB(ctx context.Context, dir string) (*Process, string, error) {
	return startMariaDB(ctx, dir, mysqlDirs)
}

// MySQLInstalled reports whether a MariaDB or MySQL server binary is installed where
// StartMariaDB looks for one (PATH, then the usual places).
func MySQLInstalled() bool {
	_, err := findMySQLServer(mysqlDirs)
	return err == nil
}

// findMySQLServer finds mariadbd, or else mysqld; the error names the modern binary.
func findMySQLServer(search []string) (string, error) {
	server, err := proc.FindBinary("mariadbd", "mariadb-server", search...)
	if err != nil {
		var err2 error
		if server, err2 = proc.FindBinary("mysqld", "mariadb-server", search...); err2 != nil {
			return "", err
		}
	}
	return server, nil
}

func startMariaDB(ctx context.Context, dir string, search []string) (*Process, string, error) {
	server, err := findMySQLServer(search)
	if err != nil {
		return nil, "", err
	}
	out, err := exec.CommandContext(ctx, server, "--version").CombinedOutput()
	if err != nil {
		return nil, "", fmt.Errorf("start mariadb: %s --version: %w: %s", server, err, strings.TrimSpace(string(out)))
	}
	isMariaDB := strings.Contains(strings.ToLower(string(out)), "mariadb")
	name := "mysql"
	if isMariaDB {
		name = "mariadb"
	}

	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	base := filepath.Join(dir, "mariadb")
	data, tmp := filepath.Join(base, "data"), filepath.Join(base, "tmp")
	sock := filepath.Join(base, "mysqld.sock")
	if len(sock) > maxSocketPath {
		return nil, "", fmt.Errorf("start %s: socket path %s is %d bytes, over the limit of %d: use a shorter directory", name, sock, len(sock), maxSocketPath)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	root := os.Geteuid() == 0
	env := mysqlEnv()

	// Set up the system tables: root@localhost, root@127.0.0.1 and root@::1 without a password.
	initLog := filepath.Join(base, "install.log")
	if isMariaDB {
		install, err := proc.FindBinary("mariadb-install-db", "mariadb-server", append([]string{filepath.Dir(server)}, search...)...)
		if err != nil {
			if install, err = proc.FindBinary("mysql_install_db", "mariadb-server", append([]string{filepath.Dir(server)}, search...)...); err != nil {
				return nil, "", err
			}
		}
		args := []string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
			"--skip-test-db", "--skip-name-resolve"}
		if root {
			args = append(args, "--user=root")
		}
		// mariadb-install-db finds the server through --basedir; the default (/usr) is right for
		// packages, Homebrew and tarballs need the prefix of the server binary.
		if prefix := filepath.Dir(filepath.Dir(server)); prefix != "/usr" {
			args = append(args, "--basedir="+prefix)
		}
		if err := proc.RunLogged(ctx, initLog, base, nil, env, install, args...); err != nil {
			return nil, "", fmt.Errorf("start %s: %w", name, err)
		}
	} else {
		args := []string{"--no-defaults", "--initialize-insecure", "--datadir=" + data}
		if root {
			args = append(args, "--user=root")
		}
		if err := proc.RunLogged(ctx, initLog, base, nil, env, server, args...); err != nil {
			return nil, "", fmt.Errorf("start %s: %w", name, err)
		}
	}

	port, err := proc.FreePort()
	if err != nil {
		return nil, "", err
	}
	args := []string{"--no-defaults",
		"--datadir=" + data,
		"--tmpdir=" + tmp,
		"--socket=" + sock,
		"--pid-file=" + filepath.Join(base, "mysqld.pid"),
		"--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--skip-name-resolve",
		"--skip-log-bin",
		"--max-connections=500",
		"--innodb-flush-log-at-trx-commit=1",
	}
	if !isMariaDB {
		args = append(args, "--mysqlx=OFF") // X protocol would take port 33060 for every instance
	}
	if root {
		args = append(args, "--user=root")
	}
	admin := mysqlDSN(port, "")
	p := proc.New(proc.Config{
		Name: name,
		Bin:  server,
		Args: args,
		Dir:  base,
		Port: port,
		Log:  filepath.Join(base, name+".log"),
		Env:  env,
		Ready: func(ctx context.Context) error {
			return mysqlPing(ctx, admin)
		},
	})
	if err := p.Start(ctx); err != nil {
		return nil, "", err
	}
	if err := mysqlExec(ctx, admin, "CREATE DATABASE IF NOT EXISTS stampede CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		_ = p.Kill()
		return nil, "", fmt.Errorf("start %s: create database stampede: %w", name, err)
	}
	return p, "mysql://" + mysqlDSN(port, "stampede"), nil
}

// mysqlDSN is the go-sql-driver DSN of root on the loopback port.
func mysqlDSN(port int, db string) string {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfg.DBName = db
	return cfg.FormatDSN()
}

// mysqlEnv is stampede's environment without the MYSQL_* variables (a MYSQL_PWD or
// MYSQL_HOME would steer the set-up scripts).
func mysqlEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MYSQL_") {
			env = append(env, kv)
		}
	}
	return env
}

func mysqlPing(ctx context.Context, dsn string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return err
	}
	// A plain TCP dial first: until the server listens, the driver would log every refusal.
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return err
	}
	c.Close()
	return mysqlExec(ctx, dsn, "SELECT 1")
}

func mysqlExec(ctx context.Context, dsn, stmt string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return err
	}
	cfg.Timeout = 2 * time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}
