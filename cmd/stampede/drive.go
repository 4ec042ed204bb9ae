package main

import (
	"context"
	"errors"
)

func cmdDrive(ctx context.Context, args []string) error { return errors.New("not implemented yet") }
