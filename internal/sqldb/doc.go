// Package sqldb is the thin database layer under the strategies and the checkout: one DB
// interface over PostgreSQL (pgx/v5, pgxpool) and MySQL/MariaDB (go-sql-driver/mysql), with
// queries written once using ? placeholders, a connection tag on every statement
// (/* conn_tag:hold */), and pool wait and connection hold time measured per tag.
package sqldb
