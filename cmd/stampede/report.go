package main

import (
	"context"
	"errors"
)

func cmdReport(ctx context.Context, args []string) error { return errors.New("not implemented yet") }
