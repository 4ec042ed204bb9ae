package local

import "stampede/internal/proc"

// Process is a service process this package started (package internal/proc runs it): it can
// be killed, paused, resumed and restarted on the same port with the same files.
type Process = proc.Process

// MissingBinaryError says which binary is missing and what to install.
type MissingBinaryError = proc.MissingBinaryError
