package ui

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"time"

	"fyne.io/fyne/v2"
)

// openWait is how long xdg-open is given to say it found nothing to open a file with;
// one still running then has started a program.
const openWait = 3 * time.Second

// desktopOpener returns what opens a file or folder on this desktop. Fyne's OpenURL only
// starts xdg-open, so a file nothing can open fails silently; on Linux and the BSDs (not
// in a Flatpak, where Fyne uses the portal) xdg-open is run and its exit status read.
func desktopOpener(app fyne.App) func(*url.URL) error {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" || os.Getenv("FLATPAK_ID") != "" {
		return app.OpenURL
	}
	return func(u *url.URL) error { return xdgOpen("xdg-open", u.String(), openWait) }
}

// xdgOpen runs prog with arg and waits up to wait for it: a failure to start, or an exit
// with an error within wait, is returned; a program still running after wait is left to
// run (and reaped when it ends).
func xdgOpen(prog, arg string, wait time.Duration) error {
	cmd := exec.Command(prog, arg)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%s exited with status %d: no program is set to open it", prog, exit.ExitCode())
		}
		return err
	case <-time.After(wait):
		return nil
	}
}
