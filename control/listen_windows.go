package control

import "net"

// listenOwnerOnly binds the AF_UNIX socket at path (Windows 10 1803 and later; Go itself needs
// Windows 10). Windows has no umask nor socket modes: connecting needs write access to the
// socket file, which inherits the profile directory's access list, and profile.Open makes
// that list the owner's alone.
func listenOwnerOnly(path string) (net.Listener, error) {
	return net.Listen("unix", path)
}
