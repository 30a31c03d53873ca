// Package doctor says, in plain words, what FeiGo sees of the network from here: the
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
	"strconv"
	"strings"

	"feigo/internal/oserr"
	"feigo/internal/safetext"
	"feigo/lan"
	"feigo/peers"
)

// Port is FeiGo's port, UDP and TCP.
const Port = 2425

// Check writes to w what FeiGo sees here: the networks, port 2425, the firewall and, when a
// node of this profile runs (nick is its nickname, "" when none runs), its colleagues by
// subnet. It returns the subnets, for Diagnose.
func Check(w io.Writer, nick string, running bool, listed []peers.Peer) []netip.Prefix {
	subnets, err := lan.Subnets(nil)
	fmt.Fprintln(w, "Networks:")
	if err != nil || len(subnets) == 0 {
		fmt.Fprintf(w, "  no IPv4 network is up (%v): FeiGo can reach no one\n", err)
	}
	for _, pf := range subnets {
		fmt.Fprintf(w, "  %s: announcements go to %s\n", pf, lan.Broadcast(pf))
	}
	fmt.Fprintf(w, "Port %d:\n", Port)
	for _, proto := range []string{"udp", "tcp"} {
		free := portFree(proto, Port)
		switch {
		case running && !free:
			fmt.Fprintf(w, "  %s %d: FeiGo (%s) listens\n", strings.ToUpper(proto), Port, safetext.Printable(nick))
		case free:
			fmt.Fprintf(w, "  %s %d: free — FeiGo is not running here (start it with `feigo` or `feigo serve`)\n", strings.ToUpper(proto), Port)
		default:
			who := portOwner(proto, Port)
			if who == "" {
				who = "another program"
			}
			fmt.Fprintf(w, "  %s %d: taken by %s, not by a FeiGo of this profile: close it, or run FeiGo where it is free\n", strings.ToUpper(proto), Port, safetext.Printable(who))
		}
	}
	fmt.Fprintln(w, "Firewall:")
	for _, l := range firewallReport(Port) {
		fmt.Fprintf(w, "  %s\n", l)
	}
	if running {
		fmt.Fprintf(w, "Colleagues (%d):\n", len(listed))
		bySubnet := map[string]int{}
		var order []string
		for _, q := range listed {
			where := "another subnet (reached by unicast)"
			for _, pf := range subnets {
				if pf.Contains(q.Addr.Addr()) {
					where = pf.String()
				}
			}
			if bySubnet[where] == 0 {
				order = append(order, where)
			}
			bySubnet[where]++
		}
		for _, where := range order {
			fmt.Fprintf(w, "  %d on %s\n", bySubnet[where], where)
		}
	}
	return subnets
}

// Diagnose turns a greeting into plain words, with the most likely reason when it failed.
func Diagnose(g lan.Greeting, subnets []netip.Prefix) string {
	a := g.Addr.Addr()
	local := false
	for _, pf := range subnets {
		local = local || pf.Contains(a)
	}
	tcp := map[string]string{"open": "its TCP port 2425 accepts connections", "refused": "its TCP port 2425 refuses connections", "no answer": "its TCP port 2425 does not answer"}[g.TCP]
	if g.Answered {
		s := fmt.Sprintf("%s answers a greeting in %.1f ms; %s", a, float64(g.RTT.Microseconds())/1000, tcp)
		if g.TCP != "open" {
			s += ": messages work, but files and encryption need that port (a firewall on that machine?)"
		}
		return s
	}
	switch {
	case g.TCP == "refused":
		return fmt.Sprintf("no answer from %s to a greeting, but the machine is there (its TCP port refuses): FeiGo or IP Messenger is not running on it, or its firewall drops UDP 2425", a)
	case g.TCP == "open":
		return fmt.Sprintf("no answer from %s to a greeting, though its TCP port 2425 accepts connections: its firewall drops UDP 2425", a)
	case local:
		return fmt.Sprintf("no answer from %s: the machine is off, or a firewall drops port 2425", a)
	}
	b4 := a.As4()
	bcast := netip.AddrFrom4([4]byte{b4[0], b4[1], b4[2], 255})
	return fmt.Sprintf("no answer from %s: a firewall or a different VLAN; add %s or %s in Settings (Extra addresses)", a, bcast, a)
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

// dropRules picks the lines of a firewall listing that drop or reject traffic to port, and an
// input chain whose policy drops what no rule lets in when no rule lets port in.
func dropRules(listing string, port int) []string {
	p := strconv.Itoa(port)
	var out []string
	accepted, policyDrop := false, ""
	for _, line := range strings.Split(listing, "\n") {
		l := strings.ToLower(strings.TrimSpace(line))
		if strings.Contains(l, "hook input") && strings.Contains(l, "policy drop") {
			policyDrop = strings.TrimSpace(line)
		}
		if strings.HasPrefix(l, "-p input drop") || strings.HasPrefix(l, "-p input reject") {
			policyDrop = strings.TrimSpace(line)
		}
		if strings.Contains(l, "dport") && strings.Contains(l, p) && strings.Contains(l, "accept") {
			accepted = true
		}
	}
	if policyDrop != "" && !accepted {
		out = append(out, policyDrop+" (and no rule lets port "+p+" in)")
	}
	for _, line := range strings.Split(listing, "\n") {
		l := strings.TrimSpace(line)
		if !strings.Contains(l, p) {
			continue
		}
		lower := strings.ToLower(l)
		if (strings.Contains(lower, "dport "+p) || strings.Contains(lower, "--dport "+p) || strings.Contains(lower, "dport {")) &&
			(strings.Contains(lower, "drop") || strings.Contains(lower, "reject")) {
			out = append(out, l)
		}
	}
	return out
}
