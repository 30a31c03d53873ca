// Command feigo is a LAN messenger that speaks the IP Messenger protocol (FeiQ, IPMsg, iptux).
// With no arguments (or `feigo gui`) it opens the desktop window; `feigo COMMAND` runs the
// command line.
package main

import (
	"flag"
	"os"

	"feigo/cli"
	"feigo/gui"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 || args[0] == "gui" {
		fs := flag.NewFlagSet("gui", flag.ExitOnError)
		prof := fs.String("profile", "", "profile directory (default $FEIGO_PROFILE or ~/.config/feigo)")
		if len(args) > 0 {
			fs.Parse(args[1:])
		}
		os.Exit(gui.Main(*prof, os.Stderr))
	}
	attachConsole()
	os.Exit(cli.Main(args, cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
