package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"feigo/autostart"
	"feigo/control"
	"feigo/profile"
)

// runAutostart shows or changes the autostart setting: the profile's settings.json and the
// XDG autostart entry follow it together.
func runAutostart(env Env, args []string) int {
	fs, prof := newFlags(env, "autostart", "[on|off]", "Start the FeiGo window at login (on) or not (off); with no argument, say which.\n"+
		"It writes or removes "+autostartPath()+" (XDG autostart),\nwhich starts FeiGo with this profile, and saves the choice in the profile's settings.")
	pos, code, done := interspersed(env, fs, args)
	if done {
		return code
	}
	if len(pos) > 1 || (len(pos) == 1 && pos[0] != "on" && pos[0] != "off") {
		fmt.Fprintln(env.Stderr, "feigo autostart: say on or off (or nothing, to see which)")
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "feigo autostart: %s\n", printable(err.Error()))
		return 1
	}
	p, err := profile.Open(*prof)
	if err != nil {
		return fail(err)
	}
	dir, err := filepath.Abs(p.Dir)
	if err != nil {
		return fail(err)
	}
	if len(pos) == 0 {
		on, err := autostart.Enabled(dir)
		if err != nil {
			return fail(err)
		}
		path, _ := autostart.Path()
		if on {
			fmt.Fprintf(env.Stdout, "on: %s starts FeiGo with this profile at login\n", printable(path))
		} else {
			fmt.Fprintln(env.Stdout, "off")
		}
		return 0
	}
	// A running window keeps its own copy of the settings and would write it back.
	if _, err := control.Call(p.SocketPath(), control.Request{Cmd: "status"}); err == nil {
		fmt.Fprintln(env.Stderr, "feigo autostart: FeiGo is running with this profile: change it in its Settings (Start FeiGo when I log in), or quit it first")
		return 1
	}
	st, err := p.Load()
	if err != nil {
		return fail(err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	on := pos[0] == "on"
	path, err := autostart.Set(on, exe, dir)
	if err != nil {
		return fail(err)
	}
	st.Autostart = on
	if err := p.Save(st); err != nil {
		return fail(err)
	}
	if on {
		fmt.Fprintf(env.Stdout, "on: %s starts FeiGo with this profile at login\n", printable(path))
	} else {
		fmt.Fprintln(env.Stdout, "off")
	}
	return 0
}

func autostartPath() string {
	if p, err := autostart.Path(); err == nil {
		return p
	}
	return "~/.config/autostart/feigo.desktop"
}
