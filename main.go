// Command feigo is a LAN messenger that speaks the IP Messenger protocol (FeiQ, IPMsg, iptux).
// With no arguments (or `feigo gui`) it opens the desktop window; `feigo COMMAND` runs the
// command line. `--profile DIR` may come before the command (or alone, for the window).
package main

import (
	"flag"
	"fmt"
	"os"

	"feigo/cli"
	"feigo/gui"
	"feigo/profile"
)

func main() {
	prof, args, err := cli.Global(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "feigo: %v\n", err)
		os.Exit(2)
	}
	if len(args) == 0 || args[0] == "gui" {
		fs := flag.NewFlagSet("gui", flag.ExitOnError)
		fs.StringVar(&prof, "profile", prof, "profile directory (default $FEIGO_PROFILE or ~/.config/feigo)")
		if len(args) > 0 {
			fs.Parse(args[1:])
		}
		os.Exit(gui.Main(prof, os.Stderr))
	}
	if prof != "" { // the command's own --profile, if it has one, still wins
		os.Setenv(profile.EnvVar, prof)
	}
	attachConsole()
	os.Exit(cli.Main(args, cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
