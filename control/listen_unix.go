//go:build !windows

package control

import (
	"net"
	"os"
	"syscall"
)

// listenOwnerOnly binds the Unix socket at path with mode 0600 from its creation (the umask
// closes the window between bind and chmod).
func listenOwnerOnly(path string) (net.Listener, error) {
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
