package wine

import (
	"errors"
	"net"
	"os"

	"golang.org/x/sys/windows"
)

// Running reports whether this Windows is Wine (its ntdll exports wine_get_version).
func Running() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// refusal names what err says Wine could not open, or "".
func refusal(err error) string {
	var se *os.SyscallError
	if !errors.As(err, &se) {
		return ""
	}
	switch {
	case se.Syscall == "wsaioctl" && errors.Is(se.Err, windows.WSAEOPNOTSUPP):
		var oe *net.OpError
		if errors.As(err, &oe) && (oe.Net == "udp" || oe.Net == "udp4" || oe.Net == "udp6") {
			return "a UDP socket"
		}
	case se.Syscall == "socket" && errors.Is(se.Err, windows.WSAEAFNOSUPPORT):
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Net == "unix" {
			return "an AF_UNIX socket"
		}
	}
	return ""
}
