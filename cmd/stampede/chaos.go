package main

import (
	"context"
	"fmt"
	"os"

	"stampede/chaos"
)

// cmdChaos implements `stampede chaos list`.
func cmdChaos(_ context.Context, args []string) error {
	if len(args) != 1 || args[0] != "list" {
		fmt.Fprintln(os.Stderr, "usage: stampede chaos list")
		return exitError{2}
	}
	return chaos.Describe(os.Stdout)
}
