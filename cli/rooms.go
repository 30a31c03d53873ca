package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"feigo/control"
	"feigo/node"
	"feigo/profile"
	"feigo/room"
)

// roomUsage lists `feigo room`'s subcommands.
const roomUsage = `Usage: feigo room SUBCOMMAND [--profile DIR] [--json] ARGS

Group rooms with FeiGo colleagues who have a key: no server; every member keeps the room
and hands it on; everything crosses the LAN only over members' encrypted channels.
MEMBER is a colleague as for other commands (nickname, user@host, address, ID) or a key's
fingerprint; ROOM is a room's name or ID (or 6+ digits of it).

  create NAME MEMBER...   make a room with these colleagues and you
  list                    the rooms you are in (or were), their members and who is online
                          (with no FeiGo running, read from the history: everyone offline)
  members ROOM            a room's members, who is online, and its creator
  add ROOM MEMBER...      add colleagues (any member may)
  remove ROOM MEMBER      remove a member (the room's creator only)
  leave ROOM              leave a room
  rename ROOM NAME        rename a room (the creator only)
  send ROOM TEXT...       write to a room; "-" reads TEXT from standard input
  send-file ROOM PATH...  offer files to every member online (each accepts on their own)
  history ROOM [-n N]     the room's changes and messages, the same order on every machine
                          (FeiGo running or not)

Writing commands exit 0 once every member online acknowledged; members who are offline are
counted as queued: they get it from any member when they are back.
`

func runRoom(env Env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := env.Stdout
		if len(args) == 0 {
			w = env.Stderr
		}
		fmt.Fprint(w, roomUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	// The subcommand is the first word that is not a flag (nor --profile's value), so that
	// `feigo room --profile DIR send …` works as other commands do.
	sub, at := "", -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--profile" || a == "-profile" || a == "-n" || a == "--n" || a == "--text" || a == "-text" {
			i++
			continue
		}
		if !strings.HasPrefix(a, "-") {
			sub, at = a, i
			break
		}
	}
	if at < 0 {
		fmt.Fprint(env.Stderr, roomUsage)
		return 2
	}
	args = append(append([]string{}, args[:at]...), args[at+1:]...)
	fs, prof := newFlags(env, "room "+sub, "ARGS", roomUsage)
	fs.Usage = func() { fmt.Fprint(fs.Output(), roomUsage) }
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	limit := fs.Int("n", 0, "history: the newest `N` entries only")
	text := fs.String("text", "", "send-file: a note with the files")
	pos, code, done := interspersed(env, fs, args)
	if done {
		return code
	}
	need := func(n int, what string) bool {
		if len(pos) < n {
			fmt.Fprintf(env.Stderr, "feigo room %s: need %s\n", sub, what)
			return false
		}
		return true
	}
	req := control.Request{Cmd: "room", Op: sub}
	switch sub {
	case "create":
		if !need(2, "NAME and at least one MEMBER") {
			return 2
		}
		req.Text, req.To = pos[0], pos[1:]
	case "list":
	case "members":
		if len(pos) != 1 {
			fmt.Fprintln(env.Stderr, "feigo room members: need one ROOM")
			return 2
		}
		req.Room = pos[0]
	case "add":
		if !need(2, "ROOM and at least one MEMBER") {
			return 2
		}
		req.Room, req.To = pos[0], pos[1:]
	case "remove":
		if len(pos) != 2 {
			fmt.Fprintln(env.Stderr, "feigo room remove: need ROOM and one MEMBER")
			return 2
		}
		req.Room, req.To = pos[0], pos[1:]
	case "leave":
		if len(pos) != 1 {
			fmt.Fprintln(env.Stderr, "feigo room leave: need one ROOM")
			return 2
		}
		req.Room = pos[0]
	case "rename":
		if !need(2, "ROOM and NAME") {
			return 2
		}
		req.Room, req.Text = pos[0], strings.Join(pos[1:], " ")
	case "send":
		if !need(2, "ROOM and TEXT") {
			return 2
		}
		req.Room, req.Text = pos[0], strings.Join(pos[1:], " ")
		if req.Text == "-" {
			b, err := io.ReadAll(io.LimitReader(env.Stdin, room.MaxText+1))
			if err != nil {
				fmt.Fprintf(env.Stderr, "feigo room send: reading standard input: %v\n", err)
				return 1
			}
			req.Text = strings.TrimSuffix(string(b), "\n")
		}
	case "send-file":
		if !need(2, "ROOM and at least one PATH") {
			return 2
		}
		req.Room, req.Text = pos[0], *text
		for _, p := range pos[1:] {
			abs, err := filepath.Abs(p)
			if err != nil {
				fmt.Fprintf(env.Stderr, "feigo room send-file: %v\n", err)
				return 1
			}
			req.Paths = append(req.Paths, abs)
		}
	case "history":
		if len(pos) != 1 {
			fmt.Fprintln(env.Stderr, "feigo room history: need one ROOM")
			return 2
		}
		req.Room, req.Limit = pos[0], *limit
	default:
		fmt.Fprintf(env.Stderr, "feigo room: unknown subcommand %q\n\n%s", sub, roomUsage)
		return 2
	}
	var resp control.Response
	var ok bool
	if sub == "list" || sub == "history" {
		resp, ok = roomReadCall(env, sub, *prof, req)
	} else {
		resp, ok = call(env, "room "+sub, *prof, req)
	}
	if !ok {
		return 1
	}
	ans := resp.RoomAnswer
	if ans == nil {
		ans = &control.RoomAnswer{}
	}
	failed := false // a member online did not acknowledge: exit 1
	if ans.Sent != nil {
		for _, d := range ans.Sent.Deliveries {
			failed = failed || d.Error != ""
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		switch sub {
		case "list":
			printList(env.Stdout, ans.Rooms, true)
		case "history":
			printList(env.Stdout, ans.Lines, true)
		case "members":
			enc.Encode(ans.Room)
		default:
			enc.Encode(ans.Sent)
		}
		if failed {
			return 1
		}
		return 0
	}
	switch sub {
	case "list":
		printRooms(env.Stdout, ans.Rooms)
	case "history":
		printRoomHistory(env.Stdout, ans.Room, ans.Lines)
	case "members":
		if in := ans.Room; in != nil {
			fmt.Fprintf(env.Stdout, "room %s (%s)\n", printable(in.Name), in.ID)
			for _, m := range in.Members {
				state := "offline"
				if m.Online || m.Me {
					state = "online"
				}
				role := ""
				if m.ID == in.Creator {
					role = "  creator"
				}
				fmt.Fprintf(env.Stdout, "  %s  %s  %s%s\n", printable(m.Nick), state, m.ID, role)
			}
		}
	default:
		if ans.Sent == nil {
			return 0
		}
		s := ans.Sent
		if sub == "create" {
			fmt.Fprintf(env.Stdout, "room %s created: %s\n", printable(s.Room.Name), s.Room.ID)
		}
		for _, d := range s.Deliveries {
			name := printable(d.Nick)
			if name == "" {
				name = d.Member[:12]
			}
			switch {
			case d.Delivered:
				fmt.Fprintf(env.Stdout, "delivered to %s (encrypted)\n", name)
			case d.Error != "":
				fmt.Fprintf(env.Stdout, "not acknowledged by %s (%s): they get it from any member later\n", name, printable(d.Error))
			default:
				fmt.Fprintf(env.Stdout, "queued for %s: offline, gets it from any member when back\n", name)
			}
		}
		if resp.Transfer != nil {
			fmt.Fprintf(env.Stdout, "offered as transfer %d to the members online\n", resp.Transfer.ID)
		}
	}
	if failed {
		return 1
	}
	return 0
}

func printRooms(w io.Writer, rs []room.Info) {
	if len(rs) == 0 {
		fmt.Fprintln(w, "no rooms")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMEMBERS\tONLINE\tID\tSTATE")
	for _, r := range rs {
		var names []string
		on := 0
		for _, m := range r.Members {
			names = append(names, printable(m.Nick))
			if m.Online {
				on++
			}
		}
		state := "member"
		if !r.Member {
			state = "left"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", printable(r.Name), strings.Join(names, ", "), on, r.ID, state)
	}
	tw.Flush()
}

func printRoomHistory(w io.Writer, in *room.Info, lines []room.Line) {
	if in != nil {
		fmt.Fprintf(w, "room %s (%s), %d members\n", printable(in.Name), in.ID, len(in.Members))
	}
	for _, l := range lines {
		t := l.Time.Local().Format(time.DateTime)
		who := printable(l.Nick)
		var ms []string
		for _, m := range l.Members {
			ms = append(ms, printable(m.Nick))
		}
		switch l.Kind {
		case room.KindCreate:
			fmt.Fprintf(w, "%s  %s created the room %s with %s\n", t, who, printable(l.Name), strings.Join(ms, ", "))
		case room.KindAdd:
			fmt.Fprintf(w, "%s  %s added %s\n", t, who, strings.Join(ms, ", "))
		case room.KindRemove:
			fmt.Fprintf(w, "%s  %s removed %s\n", t, who, strings.Join(ms, ", "))
		case room.KindLeave:
			fmt.Fprintf(w, "%s  %s left\n", t, who)
		case room.KindRename:
			fmt.Fprintf(w, "%s  %s renamed the room %s\n", t, who, printable(l.Name))
		case room.KindFiles:
			fmt.Fprintf(w, "%s  %s offered files: %s\n", t, who, printable(strings.Join(l.Files, ", ")))
		default:
			if l.Redacted {
				fmt.Fprintf(w, "%s  %s: (written before you were in the room)\n", t, who)
				continue
			}
			fmt.Fprintf(w, "%s  %s: %s\n", t, who, printableLines(l.Text))
			if len(l.DeliveredTo) > 0 {
				fmt.Fprintf(w, "      received by %d\n", len(l.DeliveredTo))
			}
		}
	}
}

// roomReadCall is call for `room list` and `room history`, which read the profile's history
// themselves when no FeiGo runs with it (members then show offline).
func roomReadCall(env Env, sub, profDir string, req control.Request) (control.Response, bool) {
	fail := func(err error) (control.Response, bool) {
		fmt.Fprintf(env.Stderr, "feigo room %s: %s\n", sub, printable(err.Error()))
		return control.Response{}, false
	}
	p, err := profile.Open(profDir)
	if err != nil {
		return fail(err)
	}
	resp, err := control.Call(p.SocketPath(), req)
	if errors.Is(err, control.ErrNotRunning) {
		m, done, err := node.ReadRooms(p)
		if errors.Is(err, room.ErrNoRoom) && sub == "list" {
			return control.Response{OK: true, RoomAnswer: &control.RoomAnswer{Rooms: []room.Info{}}}, true
		}
		if err != nil {
			return fail(err)
		}
		defer done()
		ans := &control.RoomAnswer{Rooms: m.Rooms()}
		if sub == "history" {
			in, err := m.Find(req.Room)
			if err != nil {
				return fail(err)
			}
			lines, err := m.History(in.ID, req.Limit)
			if err != nil {
				return fail(err)
			}
			ans = &control.RoomAnswer{Room: &in, Lines: append([]room.Line{}, lines...)}
		}
		return control.Response{OK: true, RoomAnswer: ans}, true
	}
	if err != nil {
		return fail(err)
	}
	if !resp.OK {
		fmt.Fprintf(env.Stderr, "feigo room %s: %s\n", sub, printable(resp.Error))
	}
	return resp, resp.OK
}
