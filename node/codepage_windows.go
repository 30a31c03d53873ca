package node

import "golang.org/x/sys/windows"

// systemCodePage is Windows' ANSI code page (GetACP): 936 on a Chinese Windows, 932 on a
// Japanese one.
func systemCodePage() uint32 { return windows.GetACP() }
