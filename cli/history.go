package cli

import (
	"errors"
	"fmt"
	"time"

	"feigo/control"
	"feigo/event"
	"feigo/history"
	"feigo/node"
	"feigo/profile"
)

// historyCall asks the node running with the profile in profDir; with none running, a
// query reads the profile's history itself (read-only), a --clear fails.
func historyCall(env Env, profDir string, req control.Request) (control.Response, bool) {
	p, err := profile.Open(profDir)
	if err != nil {
		fmt.Fprintf(env.Stderr, "feigo history: %s\n", printable(err.Error()))
		return control.Response{}, false
	}
	resp, err := control.Call(p.SocketPath(), req)
	if errors.Is(err, control.ErrNotRunning) && !req.Clear {
		peer := ""
		if len(req.To) > 0 {
			peer = req.To[0]
		}
		rs, err := node.ReadHistory(p, peer, req.Text, req.Since, req.Limit)
		if err != nil {
			fmt.Fprintf(env.Stderr, "feigo history: %s\n", printable(err.Error()))
			return control.Response{}, false
		}
		return control.Response{OK: true, History: rs}, true
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "feigo history: %s\n", printable(err.Error()))
		return control.Response{}, false
	}
	if !resp.OK {
		fmt.Fprintf(env.Stderr, "feigo history: %s\n", printable(resp.Error))
	}
	return resp, resp.OK
}

func runHistory(env Env, args []string) int {
	fs, prof := newFlags(env, "history", "[PEER] [--search WORDS] [--since DATE] [--json] | --clear PEER",
		"Show the messages and file transfers exchanged with PEER (a nickname, user@host, an IP\naddress, a peer ID; online or known from the history), or with everyone, oldest first.\n--search finds records holding all the words (Chinese words inside sentences too, and\nfile names). --clear deletes PEER's history (messages still queued for them stay).\nWith no FeiGo running, it reads the profile's history itself (PEER is then a colleague\nthe history knows); --clear needs FeiGo running.")
	clear := fs.Bool("clear", false, "delete PEER's history")
	search := fs.String("search", "", "words the messages must hold")
	since := fs.String("since", "", "only messages from `DATE` on (2006-01-02 or RFC 3339)")
	limit := fs.Int("n", 0, "only the last N messages")
	asJSON := fs.Bool("json", false, "print a JSON array of {time, peer, nick, direction, kind, text, state, …}")
	pos, code, done := interspersed(env, fs, args)
	if done {
		return code
	}
	if len(pos) > 1 {
		fmt.Fprintln(env.Stderr, "feigo history: at most one PEER")
		return 2
	}
	if *clear && len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "feigo history: --clear needs the PEER whose history to delete")
		return 2
	}
	req := control.Request{Cmd: "history", Text: *search, Limit: *limit, To: pos, Clear: *clear}
	if *since != "" {
		t, err := time.ParseInLocation("2006-01-02", *since, time.Local)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, *since); err != nil {
				fmt.Fprintf(env.Stderr, "feigo history: --since %q: use 2006-01-02 or RFC 3339\n", *since)
				return 2
			}
		}
		req.Since = t
	}
	resp, ok := historyCall(env, *prof, req)
	if !ok {
		return 1
	}
	if *clear {
		fmt.Fprintf(env.Stdout, "deleted %d records\n", resp.Cleared)
		return 0
	}
	if *asJSON {
		printList(env.Stdout, resp.History, false)
		return 0
	}
	for _, r := range resp.History {
		arrow := "←"
		if r.Direction == event.Out {
			arrow = "→"
		}
		text, state := r.Text, r.State
		if r.Kind == history.KindFile {
			state = "files " + state
			if r.Folder != "" {
				text += " → " + r.Folder
			}
		}
		if r.Error != "" {
			state += ": " + r.Error
		}
		for _, im := range r.Images {
			where := im.Path
			if where == "" {
				where = im.SHA256 + " (not in the image store)"
			}
			text += fmt.Sprintf("\n[image %dx%d %s]", im.Width, im.Height, where)
		}
		fmt.Fprintf(env.Stdout, "%s %s %s [%s] %s\n", r.Time.Local().Format("2006-01-02 15:04:05"), arrow, printable(r.Nick), printable(state), printableLines(text))
	}
	return 0
}
