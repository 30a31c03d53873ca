// Command feigo is a LAN messenger that speaks the IP Messenger protocol (FeiQ, IPMsg, iptux).
package main

import (
	"os"

	"feigo/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
