//go:build !windows

package node

// systemCodePage is 0: Unix has no ANSI code page, and GBK stays the default.
func systemCodePage() uint32 { return 0 }
