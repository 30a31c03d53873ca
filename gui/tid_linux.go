package gui

import "golang.org/x/sys/unix"

// threadID identifies the OS thread running the caller.
func threadID() int64 { return int64(unix.Gettid()) }
