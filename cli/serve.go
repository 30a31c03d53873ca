package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"feigo/lan"
	"feigo/node"
	"feigo/profile"
)

func runServe(env Env, args []string) int {
	const about = "Run a FeiGo node without a window. It announces itself on the LAN, answers\n" +
		"other IP Messenger clients, and prints one JSON object per line on standard output\n" +
		"for every event (\"type\": ready, peer_online, peer_offline, peer_updated, message,\n" +
		"message_delivered, message_failed, message_read, message_images, typing, nudge,\n" +
		"transfer_offered, transfer_started,\n" +
		"transfer_progress, transfer_done, transfer_failed). Logs go to standard error. SIGINT or SIGTERM\n" +
		"says goodbye to the LAN (BR_EXIT) and exits 0. Flags override the profile's settings."
	fs, prof := newFlags(env, "serve", "[flags]", about)
	nick := fs.String("nick", "", "nickname shown to colleagues (default: the login name)")
	group := fs.String("group", "", "group (department) shown to colleagues")
	port := fs.Int("port", 0, "UDP port (default 2425, the IP Messenger port)")
	var bcast, ifaces listFlag
	fs.Var(&bcast, "broadcast", "extra address to announce to: another subnet's broadcast address, a host or an IPv6 group, `ADDR[:PORT]` (repeatable; IPv6 as [fd00::7]:2425, link-local with its interface, fe80::7%eth0)")
	fs.Var(&ifaces, "interface", "announce only on the network interface `NAME` (repeatable); \"none\" for no interface, only --broadcast addresses")
	legacy := fs.String("legacy-encoding", "", "code page of clients that do not say theirs: gbk (FeiQ, Chinese IPMsg; default) or cp932 (Japanese IPMsg)")
	acceptDir := fs.String("accept-files", "", "accept every file offer into `DIR` at once (scripted drops, tests)")
	downloads := fs.String("download-dir", "", "accepted files go to `DIR` when \"feigo accept\" names no folder (default ~/Downloads)")
	noVerify := fs.Bool("no-verify", false, "receive from FeiGo peers without the SHA-256 check (for links faster than the CPU hashes)")
	verbose := fs.Bool("v", false, "log every packet decision (debug)")
	noHostList := fs.Bool("no-host-list", false, "do not serve the list of colleagues to IP Messenger clients that ask for it (BR_ISGETLIST2); the profile setting no_host_list does the same")
	noExchange := fs.Bool("no-peer-exchange", false, "do not trade lists of colleagues with FeiGo colleagues on other subnets")
	noIPv6 := fs.Bool("no-ipv6", false, "stay on IPv4: no IPv6 socket, no IPv6 group ff15::979 (the profile setting no_ipv6 does the same)")
	virtual := fs.Bool("virtual-interfaces", false, "announce on virtual interfaces too (containers, virtual machines, VPN tunnels: docker0, veth…, tun…), left out by default")
	noKey := fs.Bool("no-key", false, "run without an identity key, as FeiGo did before keys: nothing is encrypted and colleagues see this node as unencrypted (for benchmarks)")
	if code, done := parse(env, fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.Stderr, "feigo serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "feigo serve: %s\n", printable(err.Error()))
		return 1
	}

	p, err := profile.Open(*prof)
	if err != nil {
		return fail(err)
	}
	st, err := p.Load()
	if err != nil {
		return fail(err)
	}
	override := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	override(&st.Nick, *nick)
	override(&st.Group, *group)
	override(&st.LegacyEncoding, *legacy)
	override(&st.DownloadDir, *downloads)
	if *port != 0 {
		st.Port = *port
	}
	if len(bcast) > 0 {
		st.Broadcast = bcast
	}
	if len(ifaces) > 0 {
		st.Interfaces = ifaces
	}
	st.NoHostList = st.NoHostList || *noHostList
	st.NoPeerExchange = st.NoPeerExchange || *noExchange
	st.VirtualInterfaces = st.VirtualInterfaces || *virtual
	st.NoIPv6 = st.NoIPv6 || *noIPv6
	cfg, err := node.LANConfig(p, st)
	if err != nil {
		p.Discard()
		return fail(err)
	}
	cfg.NoVerify = *noVerify
	cfg.NoKey = *noKey
	if *acceptDir != "" {
		if cfg.AcceptDir, err = filepath.Abs(*acceptDir); err != nil {
			return fail(err)
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	cfg.Log = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))

	var outMu sync.Mutex
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	cfg.OnEvent = func(ev lan.Event) {
		outMu.Lock()
		defer outMu.Unlock()
		enc.Encode(ev)
	}

	n, err := node.Start(p, cfg)
	if err != nil {
		p.Discard() // a new profile that never ran leaves no directory behind
		return fail(err)
	}
	n.SetRetention(st.HistoryDays)
	n.SetReadReceipts(!st.NoReadReceipts)
	n.ApplyPolicy(st)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Log.Info("FeiGo node started", "nick", cfg.Nick, "group", cfg.Group, "profile", p.Dir, "socket", p.SocketPath())
	if err := n.Run(ctx); err != nil {
		return fail(err)
	}
	cfg.Log.Info("FeiGo node stopped")
	return 0
}
