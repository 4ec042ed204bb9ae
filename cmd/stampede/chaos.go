package main

import (
	"context"
	"errors"
)

func cmdChaos(ctx context.Context, args []string) error { return errors.New("not implemented yet") }
