package sqldb

import (
	"strings"
	"testing"
)

func TestMySQLDSN(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            string // a part of the error; empty: none
	}{
		{"driver form", "mysql://root:secret@tcp(h:3307)/db", "mysql://root:secret@tcp(h:3307)/db", ""},
		{"unix socket", "mysql://root@unix(/run/mysqld.sock)/db", "mysql://root@unix(/run/mysqld.sock)/db", ""},
		{"URL form", "mysql://root@127.0.0.1:3306/test", "mysql://root@tcp(127.0.0.1:3306)/test", ""},
		{"URL form with a password and parameters", "mysql://app:s%40cret@db.example:3307/t?parseTime=true",
			"mysql://app:s@cret@tcp(db.example:3307)/t?parseTime=true", ""},
		{"URL form without a port", "mysql://root@db.example/test", "mysql://root@tcp(db.example:3306)/test", ""},
		{"no prefix", "root@tcp(h:3306)/db", "", "not a mysql:// DSN"},
		{"postgres URL", "postgres://u@h/db", "", "mysql://user[:password]@host[:port]/database"},
		{"garbage after the prefix hides the password", "mysql://root:secret@tcp(h:3306", "", "want mysql://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MySQLDSN(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "secret") {
					t.Errorf("MySQLDSN(%q) = %q, %v; want an error saying %q without the password", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("MySQLDSN(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestWithApplication(t *testing.T) {
	got, err := WithApplication("postgres://u@h:5432/db?search_path=s", "stampede_server_x")
	if err != nil || Application(got) != "stampede_server_x" || !strings.Contains(got, "search_path=s") {
		t.Errorf("WithApplication on postgres = %q, %v; want application_name set and search_path kept", got, err)
	}
	if again, _ := WithApplication(got, "stampede_chaos"); Application(again) != "stampede_chaos" {
		t.Errorf("WithApplication over a name = %q, want it replaced", again)
	}
	my := "mysql://root@tcp(h:3306)/db"
	if got, err := WithApplication(my, "stampede_server_x"); err != nil || got != my || Application(got) != "" {
		t.Errorf("WithApplication on mysql = %q, %v; want the DSN as it was (no name there)", got, err)
	}
	if _, err := WithApplication("postgres://u@h/db", "Bad Name"); err == nil || !strings.Contains(err.Error(), "application name") {
		t.Errorf("a bad name: err %v, want one naming the application name", err)
	}
	if Application("postgres://u@h/db") != "" {
		t.Error("Application of a DSN without one, want empty")
	}
}
