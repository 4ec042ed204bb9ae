package main

import (
	"context"
	"errors"
)

var errNotYet = errors.New("not implemented yet")

func cmdServe(ctx context.Context, args []string) error  { return errNotYet }
func cmdPSP(ctx context.Context, args []string) error    { return errNotYet }
func cmdDrive(ctx context.Context, args []string) error  { return errNotYet }
func cmdCheck(ctx context.Context, args []string) error  { return errNotYet }
func cmdRun(ctx context.Context, args []string) error    { return errNotYet }
func cmdReport(ctx context.Context, args []string) error { return errNotYet }
func cmdChaos(ctx context.Context, args []string) error  { return errNotYet }
