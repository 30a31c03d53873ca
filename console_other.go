//go:build !windows

package main

// attachConsole is for Windows' windowed programs; elsewhere the command line has its
// terminal already.
func attachConsole() {}
