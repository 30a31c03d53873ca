package cli

import (
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"feigo/control"
	"feigo/event"
	"feigo/profile"
	"feigo/xfer"
)

// pollEvery is how often a waiting command asks the node how a transfer is going.
const pollEvery = 250 * time.Millisecond

func runSendFile(env Env, args []string) int {
	const about = "Offer files and folders to PEER (a nickname, user@host, an IP address or a peer ID)\n" +
		"and wait until they have been received. Exits 0 when every recipient received\n" +
		"everything, 1 when one declined, failed or took only some of the files."
	fs, prof := newFlags(env, "send-file", "[--to PEER]... [--text TEXT] PEER PATH...", about)
	var to listFlag
	fs.Var(&to, "to", "another recipient `PEER` (repeatable)")
	text := fs.String("text", "", "a message to go with the files")
	noWait := fs.Bool("no-wait", false, "return once the offer is acknowledged; print the transfer ID")
	quiet := fs.Bool("q", false, "no progress lines on standard error")
	unencrypted := fs.Bool("unencrypted", false, unencryptedHelp)
	if code, done := parse(env, fs, args); done {
		return code
	}
	rest := fs.Args()
	if len(rest) < 2 {
		fmt.Fprintln(env.Stderr, "feigo send-file: need PEER and at least one PATH")
		fs.Usage()
		return 2
	}
	var paths []string
	for _, p := range rest[1:] {
		abs, err := filepath.Abs(p)
		if err != nil {
			fmt.Fprintf(env.Stderr, "feigo send-file: %v\n", err)
			return 1
		}
		paths = append(paths, abs)
	}
	resp, ok := call(env, "send-file", *prof, control.Request{Cmd: "send-file", To: append([]string{rest[0]}, to...), Text: *text, Paths: paths, Unencrypted: *unencrypted})
	if !ok {
		return 1
	}
	if *noWait {
		fmt.Fprintln(env.Stdout, resp.Transfer.ID)
		return 0
	}
	return waitTransfer(env, "send-file", *prof, *resp.Transfer, *quiet)
}

// waitTransfer polls the node until transfer t ends, printing progress to standard error
// about once a second, and returns 0 when it is done.
func waitTransfer(env Env, name, prof string, t xfer.Transfer, quiet bool) int {
	p, err := profile.Open(prof)
	if err != nil {
		fmt.Fprintf(env.Stderr, "feigo %s: %s\n", name, printable(err.Error()))
		return 1
	}
	last := time.Time{}
	for !t.Final() {
		time.Sleep(pollEvery)
		resp, err := control.Call(p.SocketPath(), control.Request{Cmd: "transfer", ID: t.ID})
		if err != nil {
			fmt.Fprintf(env.Stderr, "feigo %s: lost the node while waiting for transfer %d: %s\n", name, t.ID, printable(err.Error()))
			return 1
		}
		if !resp.OK {
			fmt.Fprintf(env.Stderr, "feigo %s: %s\n", name, printable(resp.Error))
			return 1
		}
		t = *resp.Transfer
		if !quiet && time.Since(last) >= time.Second && !t.Final() {
			fmt.Fprintf(env.Stderr, "transfer %d: %s\n", t.ID, progressLine(t))
			last = time.Now()
		}
	}
	if t.State != xfer.StateDone {
		fmt.Fprintf(env.Stderr, "feigo %s: transfer %d %s: %s\n", name, t.ID, printable(t.State), printable(t.Error))
		return 1
	}
	if t.Direction == event.Out {
		for _, r := range t.Recipients {
			fmt.Fprintf(env.Stdout, "received by %s: %d files, %s\n", peerName(r.Nick, r.Addr.String()), len(r.Fetched), xfer.FormatSize(t.Total/int64(len(t.Recipients))))
		}
	} else {
		for _, f := range t.Files {
			if f.State == xfer.StateDone {
				fmt.Fprintln(env.Stdout, printable(f.Path))
			}
		}
	}
	return 0
}

// peerName names a peer for the terminal.
func peerName(nick, addr string) string {
	if nick == "" {
		return printable(addr)
	}
	return printable(nick + " (" + addr + ")")
}

// progressLine is "state 12.0 MiB / 100 MiB (12%), 5.1 MiB/s, 17s left".
func progressLine(t xfer.Transfer) string {
	s := fmt.Sprintf("%s %s / %s", printable(t.State), xfer.FormatSize(t.Done), xfer.FormatSize(t.Total))
	if t.Total > 0 {
		s += fmt.Sprintf(" (%d%%)", t.Done*100/t.Total)
	}
	if t.Rate > 0 {
		s += ", " + xfer.FormatSize(int64(t.Rate)) + "/s"
	}
	if t.ETA > 0 {
		s += ", " + (time.Duration(t.ETA) * time.Second).Round(time.Second).String() + " left"
	}
	return s
}

func runTransfers(env Env, args []string) int {
	fs, prof := newFlags(env, "transfers", "[--json]", "List file transfers in both directions: offers waiting for a decision, running\nand ended ones, with their IDs for accept, decline and cancel.")
	asJSON := fs.Bool("json", false, "print a JSON array of transfer objects")
	if code, done := parse(env, fs, args); done {
		return code
	}
	resp, ok := call(env, "transfers", *prof, control.Request{Cmd: "transfers"})
	if !ok {
		return 1
	}
	if *asJSON {
		printList(env.Stdout, resp.Transfers, true)
		return 0
	}
	if len(resp.Transfers) == 0 {
		fmt.Fprintln(env.Stdout, "no transfers")
		return 0
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIR\tPEER\tFILES\tPROGRESS\tNOTE")
	for _, t := range resp.Transfers {
		peer := peerName(t.Nick, t.Addr.String())
		if t.Direction == event.Out {
			var names []string
			for _, r := range t.Recipients {
				names = append(names, peerName(r.Nick, r.Addr.Addr().String()))
			}
			peer = strings.Join(names, ", ")
		}
		dir := "from"
		if t.Direction == event.Out {
			dir = "to"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, dir, peer, fileSummary(t), progressLine(t), printable(dash(t.Error)))
	}
	tw.Flush()
	return 0
}

func fileSummary(t xfer.Transfer) string {
	if len(t.Files) == 0 {
		return "-"
	}
	name := t.Files[0].Name
	if t.Files[0].IsDir() {
		name += "/"
	}
	if len(t.Files) > 1 {
		name += fmt.Sprintf(" +%d", len(t.Files)-1)
	}
	return printable(name)
}

// transferID reads the one ID argument of accept, decline and cancel.
func transferID(env Env, name string, args []string) (int, bool) {
	if len(args) != 1 {
		fmt.Fprintf(env.Stderr, "feigo %s: need one transfer ID (see `feigo transfers`)\n", name)
		return 0, false
	}
	id, err := strconv.Atoi(args[0])
	if err != nil || id < 1 {
		fmt.Fprintf(env.Stderr, "feigo %s: %q is not a transfer ID\n", name, args[0])
		return 0, false
	}
	return id, true
}

func runAccept(env Env, args []string) int {
	fs, prof := newFlags(env, "accept", "ID [--to DIR] [--only NAME]... [--wait]",
		"Accept incoming offer ID and download it into DIR (default: the download folder).\nAccepting a failed transfer again resumes it from what was already received.")
	dir := fs.String("to", "", "folder `DIR` to save into")
	var only listFlag
	fs.Var(&only, "only", "take only the file or folder named `NAME` (repeatable)")
	wait := fs.Bool("wait", false, "wait until the download ends; exit 0 when it is complete")
	pos, code, done := interspersed(env, fs, args)
	if done {
		return code
	}
	id, ok := transferID(env, "accept", pos)
	if !ok {
		return 2
	}
	if *dir != "" {
		abs, err := filepath.Abs(*dir)
		if err != nil {
			fmt.Fprintf(env.Stderr, "feigo accept: %v\n", err)
			return 1
		}
		*dir = abs
	}
	resp, ok := call(env, "accept", *prof, control.Request{Cmd: "accept", ID: id, Dir: *dir, Only: only})
	if !ok {
		return 1
	}
	if *wait {
		return waitTransfer(env, "accept", *prof, *resp.Transfer, false)
	}
	fmt.Fprintf(env.Stdout, "accepted transfer %d into %s\n", id, printable(resp.Transfer.Dest))
	return 0
}

func idCommand(name, about string) func(Env, []string) int {
	return func(env Env, args []string) int {
		fs, prof := newFlags(env, name, "ID", about)
		if code, done := parse(env, fs, args); done {
			return code
		}
		id, ok := transferID(env, name, fs.Args())
		if !ok {
			return 2
		}
		resp, ok := call(env, name, *prof, control.Request{Cmd: name, ID: id})
		if !ok {
			return 1
		}
		fmt.Fprintf(env.Stdout, "transfer %d %s\n", id, printable(resp.Transfer.State))
		return 0
	}
}

var (
	runDecline = idCommand("decline", "Decline incoming offer ID; the sender is told (RELEASEFILES).")
	runCancel  = idCommand("cancel", "Stop transfer ID in either direction; the other side is told.")
)

// interspersed parses flags that may come after positional arguments too, so that both
// `accept 3 --to DIR` and `accept --to DIR 3` work. It returns the positional arguments.
func interspersed(env Env, fs *flag.FlagSet, args []string) (pos []string, code int, done bool) {
	for {
		if code, done := parse(env, fs, args); done {
			return nil, code, true
		}
		if fs.NArg() == 0 {
			return pos, 0, false
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runAskShared(env Env, args []string) int {
	fs, prof := newFlags(env, "ask-shared", "PEER", "Ask an iptux peer for the files it shares. They arrive as an incoming offer\n(see `feigo transfers`; `serve --accept-files` takes them at once).")
	if code, done := parse(env, fs, args); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "feigo ask-shared: need one PEER")
		return 2
	}
	if _, ok := call(env, "ask-shared", *prof, control.Request{Cmd: "ask-shared", To: fs.Args()}); !ok {
		return 1
	}
	return 0
}
