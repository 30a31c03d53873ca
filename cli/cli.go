// Package cli is FeiGo's command line: `feigo serve` runs a node without a window, and the
// other commands talk to the running node (headless or GUI) through its control socket.
// What peers chose (nicknames, messages, file names) reaches the terminal only through
// printable, so it cannot carry escape sequences; --json output is exact.
package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"feigo/control"
	"feigo/lan"
	"feigo/peers"
	"feigo/profile"
)

// Env is what a command may touch: its streams and its environment.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

type command struct {
	name, args, summary string
	run                 func(env Env, args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"gui", "[--profile DIR]", "open the desktop window (also what `feigo` alone does)", runGUIHelp},
		{"serve", "[flags]", "run FeiGo without a window, printing events as JSON lines", runServe},
		{"peers", "[--json]", "list the colleagues the running node sees", runPeers},
		{"send", "[--to PEER]... PEER TEXT...", "send a message; exit 0 once acknowledged", runSend},
		{"away", "[TEXT]", "set absence mode, with TEXT as the automatic reply", runAway},
		{"back", "", "leave absence mode", runBack},
		{"refresh", "", "announce again and ask every peer to answer", runRefresh},
		{"status", "[--json]", "show who the running node is", runStatus},
		{"send-file", "[--to PEER]... PEER PATH...", "offer files and folders; exit 0 once received", runSendFile},
		{"transfers", "[--json]", "list file transfers and their IDs", runTransfers},
		{"accept", "ID [--to DIR]", "accept an incoming offer (or resume a failed one)", runAccept},
		{"decline", "ID", "decline an incoming offer", runDecline},
		{"cancel", "ID", "stop a transfer in either direction", runCancel},
		{"history", "[PEER] [--search WORDS] [--since DATE] [--json]", "show and search the message history", runHistory},
		{"ask-shared", "PEER", "ask an iptux peer for its shared files (they arrive as an offer)", runAskShared},
		{"verify", "PEER [--confirm]", "compare a safety code with a colleague and mark their key verified", runVerify},
		{"doctor", "[PEER|ADDRESS]", "say what FeiGo sees of the network, and why a colleague may be missing", runDoctor},
		{"room", "SUBCOMMAND ...", "group rooms: create, list, add, remove, leave, rename, send, send-file, history", runRoom},
	}
}

// Main runs the command line in args (without the program name) and returns the exit code.
func Main(args []string, env Env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return Main([]string{args[1], "--help"}, env)
		}
		usage(env.Stdout)
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(env.Stdout, "FeiGo", lan.Version)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(env, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "feigo: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "FeiGo %s — LAN messenger speaking the IP Messenger protocol (FeiQ, IPMsg, iptux)\n\n", lan.Version)
	fmt.Fprintln(w, "Usage: feigo COMMAND [flags] [args]")
	fmt.Fprintln(w, "\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nEvery command takes --profile DIR (or $%s); `feigo COMMAND --help` tells more.\n", profile.EnvVar)
}

// newFlags returns a flag set whose --help prints the command's usage to stdout.
func newFlags(env Env, name, args, about string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	prof := fs.String("profile", "", "profile directory `DIR`: settings, history and control socket (default $"+profile.EnvVar+" or ~/.config/feigo)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: feigo %s %s\n\n%s\n\nFlags:\n", name, args, about)
		fs.PrintDefaults()
	}
	return fs, prof
}

// parse parses flags; done is true when the command should exit now with code.
func parse(env Env, fs *flag.FlagSet, args []string) (code int, done bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(env.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(env.Stdout)
		fs.Usage()
		return 0, true
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "feigo %s: %v\n", fs.Name(), err)
		fs.Usage()
		return 2, true
	}
	return 0, false
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// call opens the profile and sends req to the node running with it.
func call(env Env, name, profDir string, req control.Request) (control.Response, bool) {
	p, err := profile.Open(profDir)
	if err != nil {
		fmt.Fprintf(env.Stderr, "feigo %s: %s\n", name, printable(err.Error()))
		return control.Response{}, false
	}
	resp, err := control.Call(p.SocketPath(), req)
	if err != nil {
		fmt.Fprintf(env.Stderr, "feigo %s: %s\n", name, printable(err.Error()))
		return control.Response{}, false
	}
	if !resp.OK {
		// The node's errors quote peers: "not delivered to NICK (ADDR)".
		fmt.Fprintf(env.Stderr, "feigo %s: %s\n", name, printable(resp.Error))
	}
	return resp, resp.OK
}

func runPeers(env Env, args []string) int {
	fs, prof := newFlags(env, "peers", "[--json]", "List the colleagues the running node sees, grouped by group.")
	asJSON := fs.Bool("json", false, "print a JSON array of peer objects")
	if code, done := parse(env, fs, args); done {
		return code
	}
	resp, ok := call(env, "peers", *prof, control.Request{Cmd: "peers"})
	if !ok {
		return 1
	}
	if *asJSON {
		printList(env.Stdout, resp.Peers, true)
		return 0
	}
	if len(resp.Peers) == 0 {
		fmt.Fprintln(env.Stdout, "No peers online.")
		return 0
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tNICK\tUSER@HOST\tADDRESS\tSTATUS\tCLIENT\tKEY\tID")
	var warnings []string
	for _, p := range resp.Peers {
		status := string(p.Status)
		if p.AwayText != "" {
			status += ": " + p.AwayText
		}
		fmt.Fprintf(tw, "%s\t%s\t%s@%s\t%s\t%s\t%s\t%s\t%s\n", printable(dash(p.Group)), printable(p.Nick), printable(p.User), printable(p.Host),
			p.Addr, printable(status), printable(p.Client), keyState(p), printable(p.ID))
		if p.Warning != "" {
			warnings = append(warnings, fmt.Sprintf("WARNING: %s (%s): %s", printable(p.Nick), p.Addr, printable(p.Warning)))
		}
	}
	tw.Flush()
	for _, w := range warnings {
		fmt.Fprintln(env.Stderr, w)
	}
	return 0
}

// keyState says how far a colleague's identity can be trusted, for the KEY column.
func keyState(p peers.Peer) string {
	switch {
	case p.Warning != "":
		return "WARNING"
	case p.Verified:
		return "verified"
	case p.Secure:
		return "unverified"
	}
	return "none (" + printable(p.Client) + ")"
}

// printList prints a --json list: an empty one as [] (scripts iterate over it), never null.
func printList[T any](w io.Writer, list []T, indent bool) {
	if list == nil {
		list = []T{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	enc.Encode(list)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// unencryptedHelp is the help of --unencrypted (send, send-file).
const unencryptedHelp = "allow recipients that cannot encrypt (IP Messenger, FeiQ, iptux) when the profile's legacy policy is \"ask\"; allowed until the node stops"

func runSend(env Env, args []string) int {
	const about = "Send a message to PEER: a nickname, user@host, an IP address or a peer ID.\n" +
		"The words after PEER are the text; \"-\" reads it from standard input.\n" +
		"Exits 0 once every recipient acknowledged it, 1 when one did not.\n" +
		"With --queue, a message that is not delivered now waits in the history and goes\n" +
		"when the colleague is back (announces itself); PEER may then be a colleague who is\n" +
		"offline but known from the history. It exits 0 once the message is delivered or queued.\n" +
		"With --image FILE (repeatable), the PNG, JPEG or GIF images are shown inline after the\n" +
		"text (which may then be left out), as IP Messenger shows pasted pictures; clients that\n" +
		"do not show images inline (iptux, FeiQ) get them as files, with a note."
	fs, prof := newFlags(env, "send", "[--queue] [--unencrypted] [--image FILE]... [--to PEER]... PEER TEXT...", about)
	var to, images listFlag
	fs.Var(&to, "to", "another recipient `PEER` (repeatable)")
	fs.Var(&images, "image", "an image `FILE` to show inline after the text (repeatable)")
	sealed := fs.Bool("sealed", false, "seal the message: the colleague opens it with a click, and you are told (message_read)")
	queue := fs.Bool("queue", false, "keep the message for a colleague who is offline or does not answer, and deliver it when they are back")
	unencrypted := fs.Bool("unencrypted", false, unencryptedHelp)
	if code, done := parse(env, fs, args); done {
		return code
	}
	rest := fs.Args()
	if len(rest) < 2 && !(len(images) > 0 && len(rest) == 1) {
		fmt.Fprintln(env.Stderr, "feigo send: need PEER and TEXT")
		fs.Usage()
		return 2
	}
	var imagePaths []string
	for _, p := range images {
		abs, err := filepath.Abs(p)
		if err != nil {
			fmt.Fprintf(env.Stderr, "feigo send: %v\n", err)
			return 1
		}
		imagePaths = append(imagePaths, abs)
	}
	recipients := append([]string{rest[0]}, to...)
	text := strings.Join(rest[1:], " ")
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(env.Stdin, lan.MaxText+1))
		if err != nil {
			fmt.Fprintf(env.Stderr, "feigo send: reading standard input: %v\n", err)
			return 1
		}
		text = strings.TrimSuffix(string(b), "\n")
	}
	resp, ok := call(env, "send", *prof, control.Request{Cmd: "send", To: recipients, Text: text, Queue: *queue, Unencrypted: *unencrypted, Images: imagePaths, Sealed: *sealed})
	for _, d := range resp.Deliveries {
		switch {
		case d.Delivered:
			fmt.Fprintf(env.Stdout, "delivered to %s\n", who(d))
		case d.Queued:
			fmt.Fprintf(env.Stdout, "queued for %s: it goes when they are back\n", who(d))
		}
	}
	if !ok {
		return 1
	}
	return 0
}

// who names a recipient for the terminal.
func who(d control.Delivery) string {
	if d.To == "" {
		return printable(d.Nick)
	}
	if d.Nick != "" {
		return printable(d.Nick + " (" + d.To + ")")
	}
	return printable(d.To)
}

func runAway(env Env, args []string) int {
	fs, prof := newFlags(env, "away", "[TEXT]", "Enter absence mode; TEXT is the automatic reply to messages.")
	if code, done := parse(env, fs, args); done {
		return code
	}
	if _, ok := call(env, "away", *prof, control.Request{Cmd: "away", Text: strings.Join(fs.Args(), " ")}); !ok {
		return 1
	}
	return 0
}

func simple(name, about string) func(Env, []string) int {
	return func(env Env, args []string) int {
		fs, prof := newFlags(env, name, "", about)
		if code, done := parse(env, fs, args); done {
			return code
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(env.Stderr, "feigo %s: takes no arguments\n", name)
			return 2
		}
		if _, ok := call(env, name, *prof, control.Request{Cmd: name}); !ok {
			return 1
		}
		return 0
	}
}

var (
	runBack    = simple("back", "Leave absence mode.")
	runRefresh = simple("refresh", "Announce this node again and ask every known peer to answer; peers that do not answer leave the list.")
)

func runStatus(env Env, args []string) int {
	fs, prof := newFlags(env, "status", "[--json]", "Show who the running node is.")
	asJSON := fs.Bool("json", false, "print a JSON object")
	if code, done := parse(env, fs, args); done {
		return code
	}
	resp, ok := call(env, "status", *prof, control.Request{Cmd: "status"})
	if !ok {
		return 1
	}
	if *asJSON {
		b, _ := json.Marshal(resp.Self)
		fmt.Fprintln(env.Stdout, string(b))
		return 0
	}
	s := resp.Self
	state := "online"
	if s.Away {
		state = "away: " + s.AwayText
	}
	fmt.Fprintf(env.Stdout, "%s (%s@%s) in %s, %s, %d peers, ID %s\n", printable(s.Nick), printable(s.User), printable(s.Host),
		printable(dash(s.Group)), printable(state), s.Peers, printable(s.ID))
	return 0
}

// runGUIHelp explains `feigo gui`; the window itself is opened by the main program.
func runGUIHelp(env Env, args []string) int {
	fmt.Fprintln(env.Stdout, "Usage: feigo gui [--profile DIR]\n\nOpen the desktop window: a FeiGo node with its window and tray icon. While it\nruns, the other commands talk to it as to `feigo serve`. `feigo` alone does the same.")
	return 0
}
