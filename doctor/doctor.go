// Package doctor says, in plain words (English or Chinese), what FeiGo sees of the network from here: the
// interfaces and their broadcast addresses, whether port 2425 is FeiGo's (and whose if not),
// whether the local firewall drops it, which subnets the colleagues are on, and, for a
// greeting of a colleague or an address, the likely reason when it went unanswered. `feigo
// doctor` prints it and the window's Network doctor shows it. It does not import Fyne.
package doctor

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"feigo/internal/locale"
	"feigo/internal/oserr"
	"feigo/internal/safetext"
	"feigo/lan"
	"feigo/peers"
)

// Port is FeiGo's port, UDP and TCP.
const Port = 2425

// Check writes to w, in lang, what FeiGo sees here: the networks, port 2425, the firewall
// and, when a node of this profile runs (nick is its nickname, "" when none runs), its
// colleagues by subnet. It returns the subnets, IPv4 and IPv6, for Diagnose.
func Check(w io.Writer, lang locale.Lang, nick string, running bool, listed []peers.Peer) []netip.Prefix {
	s := look()
	s.write(w, lang, nick, running, listed)
	out := slices.Clone(s.subnets)
	for _, ifc := range s.ifs6 {
		out = append(out, ifc.Prefixes...)
	}
	return out
}

// seen is what Check looks at on this machine.
type seen struct {
	subnets  []netip.Prefix
	err      error                      // from reading the interfaces
	ifs6     []lan.Interface6           // the interfaces with IPv6, where FeiGo joins ff15::979
	ports    [2]portSeen                // UDP and TCP Port
	firewall func(locale.Lang) []string // what the firewall does to Port, in words
}

// portSeen is who holds one of FeiGo's ports.
type portSeen struct {
	proto string // "udp" or "tcp"
	free  bool
	owner string // when taken: the process holding it, "" when unknown
}

// look gathers what Check says: the interfaces, port 2425's holders, the firewall's rules.
func look() seen {
	s := seen{firewall: firewallReport(Port)}
	s.subnets, s.err = lan.Subnets(nil)
	s.ifs6, _ = lan.Interfaces6()
	for i, proto := range []string{"udp", "tcp"} {
		s.ports[i] = portSeen{proto: proto, free: portFree(proto, Port)}
		if !s.ports[i].free {
			s.ports[i].owner = portOwner(proto, Port)
		}
	}
	return s
}

// write says in lang what s holds.
func (s seen) write(w io.Writer, lang locale.Lang, nick string, running bool, listed []peers.Peer) {
	say := func(msg string, args ...any) { fmt.Fprintln(w, words.T(lang, msg, args...)) }
	say("Networks:")
	switch {
	case (s.err != nil || len(s.subnets) == 0) && len(s.ifs6) == 0:
		say("  no IPv4 network is up (%v): FeiGo can reach no one", s.err)
	case s.err != nil || len(s.subnets) == 0:
		say("  no IPv4 network is up (%v): FeiGo reaches colleagues over IPv6 alone", s.err)
	}
	for _, pf := range s.subnets {
		say("  %s: announcements go to %s", pf, lan.Broadcast(pf))
	}
	for _, ifc := range s.ifs6 {
		if len(ifc.Prefixes) == 0 {
			say("  %s: IPv6 link-local only; announcements go to %s there", safetext.Printable(ifc.Name), lan.Group6)
			continue
		}
		pfs := make([]string, len(ifc.Prefixes))
		for i, pf := range ifc.Prefixes {
			pfs[i] = pf.String()
		}
		say("  %s: IPv6 %s; announcements go to %s there", safetext.Printable(ifc.Name), strings.Join(pfs, ", "), lan.Group6)
	}
	if len(s.ifs6) == 0 && len(s.subnets) > 0 {
		say("  no IPv6 network: FeiGo runs on IPv4 alone")
	}
	say("Port %d:", Port)
	for _, p := range s.ports {
		name := strings.ToUpper(p.proto)
		switch {
		case running && !p.free:
			say("  %s %d: FeiGo (%s) listens", name, Port, safetext.Printable(nick))
		case p.free:
			say("  %s %d: free — FeiGo is not running here (start it with `feigo` or `feigo serve`)", name, Port)
		default:
			who := p.owner
			if who == "" {
				who = words.T(lang, "another program")
			}
			say("  %s %d: taken by %s, not by a FeiGo of this profile: close it, or run FeiGo where it is free", name, Port, safetext.Printable(who))
		}
	}
	say("Firewall:")
	for _, l := range s.firewall(lang) {
		fmt.Fprintf(w, "  %s\n", l)
	}
	if !running {
		return
	}
	say("Colleagues (%d):", len(listed))
	bySubnet := map[string]int{}
	var order []string
	for _, q := range listed {
		where := "" // another subnet
		a := q.Addr.Addr()
		for _, pf := range s.subnets {
			if pf.Contains(a.Unmap()) {
				where = pf.String()
			}
		}
		for _, ifc := range s.ifs6 {
			for _, pf := range ifc.Prefixes {
				if pf.Contains(a.WithZone("")) {
					where = pf.String()
				}
			}
		}
		if a.Is6() && a.IsLinkLocalUnicast() {
			where = "fe80::/10"
			if z := a.Zone(); z != "" {
				where += " (" + safetext.Printable(z) + ")"
			}
		}
		if bySubnet[where] == 0 {
			order = append(order, where)
		}
		bySubnet[where]++
	}
	for _, where := range order {
		if where == "" {
			say("  %d on another subnet (reached by unicast)", bySubnet[where])
		} else {
			say("  %d on %s", bySubnet[where], where)
		}
	}
}

// Diagnose turns a greeting into plain words in lang, with the most likely reason when it
// failed.
func Diagnose(g lan.Greeting, subnets []netip.Prefix, lang locale.Lang) string {
	say := func(msg string, args ...any) string { return words.T(lang, msg, args...) }
	a := g.Addr.Addr()
	local := a.Is6() && a.IsLinkLocalUnicast() // on the link of its zone
	for _, pf := range subnets {
		local = local || pf.Contains(a.Unmap().WithZone(""))
	}
	var tcp string
	switch g.TCP {
	case "open":
		tcp = say("its TCP port 2425 accepts connections")
	case "refused":
		tcp = say("its TCP port 2425 refuses connections")
	default:
		tcp = say("its TCP port 2425 does not answer")
	}
	if g.Answered {
		s := say("%s answers a greeting in %.1f ms; %s", a, float64(g.RTT.Microseconds())/1000, tcp)
		if g.TCP != "open" {
			s += say(": messages work, but files and encryption need that port (a firewall on that machine?)")
		}
		return s
	}
	switch {
	case g.TCP == "refused":
		return say("no answer from %s to a greeting, but the machine is there (its TCP port refuses): FeiGo or IP Messenger is not running on it, or its firewall drops UDP 2425", a)
	case g.TCP == "open":
		return say("no answer from %s to a greeting, though its TCP port 2425 accepts connections: its firewall drops UDP 2425", a)
	case local:
		return say("no answer from %s: the machine is off, or a firewall drops port 2425", a)
	case !a.Is4():
		return say("no answer from %s: a firewall or a different network; add %s in Settings (Extra addresses)", a, a)
	}
	b4 := a.As4()
	bcast := netip.AddrFrom4([4]byte{b4[0], b4[1], b4[2], 255})
	return say("no answer from %s: a firewall or a different VLAN; add %s or %s in Settings (Extra addresses)", a, bcast, a)
}

// portFree reports whether proto port is free on every address (FeiGo binds 0.0.0.0).
func portFree(proto string, port int) bool {
	if proto == "udp" {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		if err != nil {
			return !oserr.AddrInUse(err) && !oserr.AccessDenied(err)
		}
		c.Close()
		return true
	}
	ln, err := net.Listen("tcp4", fmt.Sprintf(":%d", port))
	if err != nil {
		return !oserr.AddrInUse(err) && !oserr.AccessDenied(err)
	}
	ln.Close()
	return true
}

// portOwner names the process holding proto port on this machine, from /proc, or "".
func portOwner(proto string, port int) string {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"} {
		for _, ino := range socketInodes(f, port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			pid := strings.Split(fd, "/")[2]
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			return fmt.Sprintf("%s (pid %s)", strings.TrimSpace(string(comm)), pid)
		}
	}
	return "a process of another user"
}

// socketInodes returns the inodes of the sockets bound to port in a /proc/net table.
func socketInodes(path string, port int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseSocketTable(io.LimitReader(f, 16<<20), port)
}

func parseSocketTable(r io.Reader, port int) []string {
	var out []string
	sc := bufio.NewScanner(r)
	want := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || !strings.HasSuffix(fields[1], want) {
			continue
		}
		out = append(out, fields[9])
	}
	return out
}

// dropRules picks the lines of a firewall listing that drop or reject traffic to port, and,
// when no rule lets port in, the policy of an input chain that drops what no rule lets in
// ("" when there is none or a rule lets port in).
func dropRules(listing string, port int) (policy string, rules []string) {
	p := strconv.Itoa(port)
	accepted := false
	for _, line := range strings.Split(listing, "\n") {
		l := strings.ToLower(strings.TrimSpace(line))
		if strings.Contains(l, "hook input") && strings.Contains(l, "policy drop") {
			policy = strings.TrimSpace(line)
		}
		if strings.HasPrefix(l, "-p input drop") || strings.HasPrefix(l, "-p input reject") {
			policy = strings.TrimSpace(line)
		}
		if strings.Contains(l, "dport") && strings.Contains(l, p) && strings.Contains(l, "accept") {
			accepted = true
		}
	}
	if accepted {
		policy = ""
	}
	for _, line := range strings.Split(listing, "\n") {
		l := strings.TrimSpace(line)
		if !strings.Contains(l, p) {
			continue
		}
		lower := strings.ToLower(l)
		if (strings.Contains(lower, "dport "+p) || strings.Contains(lower, "--dport "+p) || strings.Contains(lower, "dport {")) &&
			(strings.Contains(lower, "drop") || strings.Contains(lower, "reject")) {
			rules = append(rules, l)
		}
	}
	return policy, rules
}
