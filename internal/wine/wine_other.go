//go:build !windows

package wine

// Running is false: Wine runs Windows programs only.
func Running() bool { return false }

func refusal(error) string { return "" }
