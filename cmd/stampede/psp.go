package main

import (
	"context"
	"errors"
)

func cmdPSP(ctx context.Context, args []string) error { return errors.New("not implemented yet") }
