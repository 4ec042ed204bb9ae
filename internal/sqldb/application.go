package sqldb

import (
	"fmt"
	"net/url"
)

// WithApplication returns dsn with the connections it opens named name, where the database
// lists its sessions: PostgreSQL's application_name (pg_stat_activity), so that one client's
// connections can be told from another's in the same database (db-conn-kill ends only the
// reference server's). A MySQL DSN is returned as it is: MySQL and MariaDB show a client's
// name only in performance_schema, which is often off; there a client's connections are told
// apart by their database. name must match ^[a-z][a-z0-9_]{0,40}$.
func WithApplication(dsn, name string) (string, error) {
	if !namespacePattern.MatchString(name) {
		return "", fmt.Errorf("application name %q: must match %s", name, namespacePattern)
	}
	d, err := DialectOf(dsn)
	if err != nil {
		return "", err
	}
	if d != Postgres {
		return dsn, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parse postgres url %q: %w", redact(dsn), err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Application is the name the connections of dsn go by (WithApplication), or "" when it
// gives none or is not a PostgreSQL URL.
func Application(dsn string) string {
	if d, err := DialectOf(dsn); err != nil || d != Postgres {
		return ""
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	return u.Query().Get("application_name")
}
