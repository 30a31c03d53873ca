package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// attachConsole gives the command line its console on Windows. FeiGo.exe is a windowed
// program (no console window opens when the app starts from the Start menu), so a command
// typed in a Command Prompt or PowerShell has nowhere to print: it attaches to the console
// it was started from and writes there, unless its output was redirected to a file or pipe.
// Started from Explorer, with no console, it changes nothing.
func attachConsole() {
	const attachParentProcess = ^uint32(0) // ATTACH_PARENT_PROCESS
	attach := windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")
	if r, _, _ := attach.Call(uintptr(attachParentProcess)); r == 0 {
		return
	}
	for _, s := range []struct {
		f    **os.File
		std  uint32
		name string
		flag int
	}{
		{&os.Stdin, windows.STD_INPUT_HANDLE, "CONIN$", os.O_RDWR},
		{&os.Stdout, windows.STD_OUTPUT_HANDLE, "CONOUT$", os.O_RDWR},
		{&os.Stderr, windows.STD_ERROR_HANDLE, "CONOUT$", os.O_RDWR},
	} {
		if h, err := windows.GetStdHandle(s.std); err == nil && h != 0 && h != windows.InvalidHandle {
			continue // redirected: keep it
		}
		if f, err := os.OpenFile(s.name, s.flag, 0); err == nil {
			*s.f = f
		}
	}
}
