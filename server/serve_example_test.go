package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"stampede/server"
)

// Serve runs a whole reference server until its context ends. Port 0 picks a free port; Ready
// says which one, for a parent process or a test to connect to.
func ExampleServe() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := server.Serve(ctx, server.Options{
		Addr:     "127.0.0.1:0",
		Strategy: "skip-locked",
		DB:       "postgres://postgres@127.0.0.1:5432/stampede?sslmode=disable",
		Redis:    "redis://127.0.0.1:6379/0",
		PSP:      server.DefaultPSP,
		HoldTTL:  30 * time.Second,
		Ready:    func(addr string) { fmt.Println("listening on", addr) },
	}, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
