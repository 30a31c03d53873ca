//go:build !linux && !windows

package gui

// threadID would identify the OS thread running the caller; here it cannot, and the idler
// relies on its stop alone.
func threadID() int64 { return 0 }
