package gui

import "golang.org/x/sys/windows"

// threadID identifies the OS thread running the caller.
func threadID() int64 { return int64(windows.GetCurrentThreadId()) }
