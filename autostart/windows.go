//go:build windows

package autostart

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// Supported says whether FeiGo can start at login here: on Windows, through the Run key.
const Supported = true

// ErrUnsupported is Set's error where FeiGo cannot start at login.
var ErrUnsupported = errors.New("autostart: not supported here")

// runKey is the user's Run key, whose values Windows runs at login; value is FeiGo's.
const (
	runKey = `Software\Microsoft\Windows\CurrentVersion\Run`
	value  = "FeiGo"
)

// Path names the registry value that starts FeiGo at login.
func Path() (string, error) { return `HKEY_CURRENT_USER\` + runKey + `\` + value, nil }

// Command is the command line that runs exe (an absolute path) with the profile in dir, quoted
// as Windows splits command lines.
func Command(exe, dir string) (string, error) {
	if !filepath.IsAbs(exe) || !filepath.IsAbs(dir) {
		return "", fmt.Errorf("autostart: %q and %q must be absolute paths", exe, dir)
	}
	if strings.ContainsAny(exe+dir, "\x00\r\n") {
		return "", fmt.Errorf("autostart: %q or %q cannot be written in a command line", exe, dir)
	}
	return syscall.EscapeArg(exe) + " gui --profile " + syscall.EscapeArg(dir), nil
}

// Set makes Windows start exe with the profile in dir at login (on), or removes the Run
// value if it starts that profile (off). It returns the value's name.
func Set(on bool, exe, dir string) (string, error) { return set(runKey, on, exe, dir) }

func set(key string, on bool, exe, dir string) (string, error) {
	path := `HKEY_CURRENT_USER\` + key + `\` + value
	k, _, err := registry.CreateKey(registry.CURRENT_USER, key, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		return path, fmt.Errorf("autostart: %w", err)
	}
	defer k.Close()
	if !on {
		if profileOf(k) != dir {
			return path, nil // none, or another profile's
		}
		if err := k.DeleteValue(value); err != nil && !errors.Is(err, registry.ErrNotExist) {
			return path, fmt.Errorf("autostart: %w", err)
		}
		return path, nil
	}
	cmd, err := Command(exe, dir)
	if err != nil {
		return "", err
	}
	if err := k.SetStringValue(value, cmd); err != nil {
		return path, fmt.Errorf("autostart: %w", err)
	}
	return path, nil
}

// Enabled says whether the Run value starts the profile in dir.
func Enabled(dir string) (bool, error) { return enabled(runKey, dir) }

func enabled(key, dir string) (bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, key, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	defer k.Close()
	return profileOf(k) == dir, nil
}

// profileOf returns the profile FeiGo's Run value in k starts, "" when there is none or it is
// not a command FeiGo wrote.
func profileOf(k registry.Key) string {
	cmd, _, err := k.GetStringValue(value)
	if err != nil || len(cmd) > 32<<10 {
		return ""
	}
	args, err := windows.DecomposeCommandLine(cmd)
	if err != nil || len(args) != 4 || args[1] != "gui" || args[2] != "--profile" {
		return ""
	}
	return args[3]
}
