package server_test

import (
	"flag"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"stampede/internal/envflag"
	"stampede/server"
)

// parse reads args and env the way `stampede serve` does, from DefaultOptions.
func parse(t *testing.T, args, env []string) server.Options {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := server.DefaultOptions()
	o.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	if err := envflag.Apply(fs, "serve", func(k string) string { return vars[k] }); err != nil {
		t.Fatalf("envflag.Apply %q: %v", env, err)
	}
	return o
}

// TestOptionsArgsAndEnvRoundTrip: the flags Args writes and the variables Env writes read
// back, through RegisterFlags and envflag.Apply, into the options they came from.
func TestOptionsArgsAndEnvRoundTrip(t *testing.T) {
	full := server.Options{
		Addr: "127.0.0.1:0", Strategy: "skip-locked", DB: "postgres://u@h:5432/db", Redis: "redis://h:6379/0",
		PSP: "http://127.0.0.1:9", HoldTTL: 3 * time.Second, AllowUnsafe: true, SafetyNet: true, PoolSize: 7,
		KeyPrefix: "stampede:skip-locked:postgres:", AdmissionSecret: []byte("5eed"), SweepInterval: 500 * time.Millisecond, HoldBatches: 3,
		LogLevel: "warn", CheckoutLease: 10 * time.Second, CheckoutIdle: 3 * time.Second, Failpoints: "after-hold=delay:20ms",
		Shadow: "status-expiry", ShadowQueue: 100, MaxQueueLength: 50, MaxStreamsPerSession: 2,
	}
	tests := []struct {
		name string
		o    server.Options
		args []string // nil: do not compare
	}{
		{"defaults", server.DefaultOptions(), []string{}},
		{"every flag", full, nil},
		{"a few", func() server.Options {
			o := server.DefaultOptions()
			o.Strategy, o.HoldTTL = "pessimistic", 45*time.Second
			return o
		}(), []string{"--hold-ttl=45s", "--strategy=pessimistic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.o.Args()
			if tt.args != nil && !slices.Equal(args, tt.args) && !(len(args) == 0 && len(tt.args) == 0) {
				t.Errorf("Args() = %q, want %q", args, tt.args)
			}
			if got := parse(t, args, nil); !reflect.DeepEqual(got, tt.o) {
				t.Errorf("parsing Args() %q = %+v, want %+v", args, got, tt.o)
			}
			env := tt.o.Env()
			if len(env) != len(args) {
				t.Errorf("Env() = %q, want one variable per flag of %q", env, args)
			}
			if got := parse(t, nil, env); !reflect.DeepEqual(got, tt.o) {
				t.Errorf("parsing Env() %q = %+v, want %+v", env, got, tt.o)
			}
		})
	}
	// A value left empty where the default is not is carried by Args; Env cannot.
	noPSP := server.DefaultOptions()
	noPSP.PSP = ""
	if args := noPSP.Args(); !slices.Equal(args, []string{"--psp="}) {
		t.Errorf("Args() without a processor = %q, want [--psp=]", args)
	}
	if env := noPSP.Env(); len(env) != 0 {
		t.Errorf("Env() without a processor = %q, want nothing (an empty variable is unset)", env)
	}
	if got := parse(t, noPSP.Args(), nil); got.PSP != "" {
		t.Errorf("parsing --psp= gives PSP %q, want empty", got.PSP)
	}
}

func TestOptionsLogger(t *testing.T) {
	for _, level := range []string{"", "debug", "info", "warn", "error", "WARN"} {
		if _, err := (server.Options{LogLevel: level}).Logger(io.Discard); err != nil {
			t.Errorf("Logger at %q: %v", level, err)
		}
	}
	if _, err := (server.Options{LogLevel: "loud"}).Logger(io.Discard); err == nil || !strings.Contains(err.Error(), "log-level") {
		t.Errorf("Logger at loud = %v, want an error naming log-level", err)
	}
}

// TestOptionsAdminToken: the admin token is read from --admin-token and STAMPEDE_ADMIN_TOKEN,
// never written to a command line by Args (only by Env), and a server that would listen
// beyond loopback without one, or with a short one, is refused before anything starts.
func TestOptionsAdminToken(t *testing.T) {
	o := server.DefaultOptions()
	o.Strategy, o.DB, o.AdminToken = "status-expiry", "postgres://u@h/db", "tok-tok-tok-tok-tok"
	if args := o.Args(); slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, o.AdminToken) }) {
		t.Errorf("Args() = %q carries the admin token", args)
	}
	if env := o.Env(); !slices.Contains(env, "STAMPEDE_ADMIN_TOKEN="+o.AdminToken) {
		t.Errorf("Env() = %q, want STAMPEDE_ADMIN_TOKEN", env)
	}
	if got := parse(t, o.Args(), o.Env()); !reflect.DeepEqual(got, o) {
		t.Errorf("parsing Args() and Env() = %+v, want %+v", got, o)
	}
	if got := parse(t, []string{"--admin-token=from-the-flag-flag"}, nil); got.AdminToken != "from-the-flag-flag" {
		t.Errorf("--admin-token gives %q", got.AdminToken)
	}
	tests := []struct {
		addr, token, want string
	}{
		{"127.0.0.1:8080", "", ""},
		{"localhost:0", "", ""},
		{"0.0.0.0:8080", "", "give --admin-token"},
		{":8080", "", "give --admin-token"},
		{"0.0.0.0:8080", "0123456789abcdef", ""},
		{"127.0.0.1:8080", "short", "at least 16 characters"},
	}
	for _, tt := range tests {
		v := o
		v.Addr, v.AdminToken = tt.addr, tt.token
		err := v.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(addr %q, token %q) = %v, want %q", tt.addr, tt.token, err, tt.want)
		}
	}
}

func TestOptionsApplyFlags(t *testing.T) {
	o := server.DefaultOptions()
	if err := o.ApplyFlags([]string{"--overload-target=100ms", "--max-in-flight", "64"}, server.RunOwnedFlags); err != nil {
		t.Fatal(err)
	}
	if o.OverloadTarget != 100*time.Millisecond || o.MaxInFlight != 64 {
		t.Fatalf("after ApplyFlags: overload target %s, max in flight %d; want 100ms and 64", o.OverloadTarget, o.MaxInFlight)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--strategy=naive"}, "--strategy: set by the run itself"},
		{[]string{"--max-in-flight=8", "--admin-token=0123456789abcdef"}, "--admin-token: set by the run itself"},
		{[]string{"--max-in-flight=lots"}, `invalid value "lots" for flag -max-in-flight`},
		{[]string{"--warp"}, "flag provided but not defined: -warp"},
		{[]string{"--max-in-flight=8", "fast"}, `"fast": not a flag of stampede serve`},
	} {
		before := server.DefaultOptions()
		got := before
		err := got.ApplyFlags(tc.args, server.RunOwnedFlags)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ApplyFlags(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
		if got.MaxInFlight != before.MaxInFlight || got.Strategy != before.Strategy {
			t.Errorf("ApplyFlags(%q) failed but changed the options", tc.args)
		}
	}
}
