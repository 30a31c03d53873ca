package cli

import (
	"errors"
	"fmt"

	"feigo/control"
	"feigo/doctor"
	"feigo/internal/locale"
	"feigo/peers"
	"feigo/profile"
)

// runDoctor says, in plain words, what FeiGo sees of the network from here: the interfaces and
// their broadcast addresses, whether port 2425 is FeiGo's (and whose if not), whether the
// local firewall drops it, which subnets the colleagues are on, and for a colleague or an
// address, whether it answers a greeting and its TCP port, with the likely reason when not.
// It speaks Chinese where the locale is Chinese (LC_ALL, LC_MESSAGES, LANG: zh_CN.UTF-8…).
func runDoctor(env Env, args []string) int {
	fs, prof := newFlags(env, "doctor", "[PEER|ADDRESS]", "Say what FeiGo sees of the network here and, for a colleague or address, why it may be missing.")
	pos, code, done := interspersed(env, fs, args)
	if done {
		return code
	}
	if len(pos) > 1 {
		fmt.Fprintln(env.Stderr, "feigo doctor: at most one PEER or ADDRESS")
		return 2
	}
	out := env.Stdout
	// Is a node of this profile running? The doctor greets through it.
	var self *control.Self
	var listed []peers.Peer
	p, perr := profile.Open(*prof)
	if perr == nil {
		if resp, err := control.Call(p.SocketPath(), control.Request{Cmd: "status"}); err == nil && resp.OK {
			self = resp.Self
		}
		if resp, err := control.Call(p.SocketPath(), control.Request{Cmd: "peers"}); err == nil && resp.OK {
			listed = resp.Peers
		}
	}
	nick := ""
	if self != nil {
		nick = self.Nick
	}
	lang := locale.System() // the window's language is its own setting; the CLI follows the locale
	subnets := doctor.Check(out, lang, nick, self != nil, listed)
	if len(pos) == 0 {
		return 0
	}
	if self == nil {
		fmt.Fprintln(out, doctor.Say(lang, "%s: start FeiGo first (`feigo serve`); the doctor greets through it", printable(pos[0])))
		return 1
	}
	resp, err := control.Call(p.SocketPath(), control.Request{Cmd: "greet", To: pos})
	if err == nil && !resp.OK {
		err = errors.New(resp.Error)
	}
	if err != nil || resp.Greeting == nil {
		fmt.Fprintf(out, "%s: %s\n", printable(pos[0]), printable(fmt.Sprint(err)))
		return 1
	}
	fmt.Fprintln(out, doctor.Diagnose(*resp.Greeting, subnets, lang))
	if !resp.Greeting.Answered {
		return 1
	}
	return 0
}
