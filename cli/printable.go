package cli

import "feigo/internal/safetext"

// printable and printableLines show what peers chose on a terminal (see package safetext).
func printable(s string) string { return safetext.Printable(s) }

func printableLines(s string) string { return safetext.IndentedLines(s) }
