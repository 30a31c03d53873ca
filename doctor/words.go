package doctor

import "feigo/internal/locale"

// words is what the doctor says in Chinese, keyed by its English: the window shows it when
// its language is Chinese, `feigo doctor` when the locale is (LANG=zh_CN.UTF-8 and the like).
var words = locale.Catalog{
	"Networks:": "网络：",
	"  no IPv4 network is up (%v): FeiGo can reach no one":                   "  没有可用的 IPv4 网络（%v）：FeiGo 联系不到任何人",
	"  %s: announcements go to %s":                                           "  %s：上线广播发往 %s",
	"  no IPv4 network is up (%v): FeiGo reaches colleagues over IPv6 alone": "  没有可用的 IPv4 网络（%v）：FeiGo 只能通过 IPv6 联系同事",
	"  %s: IPv6 link-local only; announcements go to %s there":               "  %s：只有 IPv6 链路本地地址；上线广播发往该网卡上的 %s",
	"  %s: IPv6 %s; announcements go to %s there":                            "  %s：IPv6 %s；上线广播发往该网卡上的 %s",
	"  no IPv6 network: FeiGo runs on IPv4 alone":                            "  没有 IPv6 网络：FeiGo 只使用 IPv4",
	"Port %d:":                    "端口 %d：",
	"  %s %d: FeiGo (%s) listens": "  %s %d：FeiGo（%s）正在监听",
	"  %s %d: free — FeiGo is not running here (start it with `feigo` or `feigo serve`)": "  %s %d：空闲，本机没有运行 FeiGo（用 `feigo` 或 `feigo serve` 启动）",
	"another program": "其他程序",
	"  %s %d: taken by %s, not by a FeiGo of this profile: close it, or run FeiGo where it is free": "  %s %d：被 %s 占用（不是用这份配置运行的 FeiGo）：请关掉它，或换一台端口空闲的电脑运行 FeiGo",
	"Firewall:":        "防火墙：",
	"Colleagues (%d):": "同事（%d 位）：",
	"  %d on another subnet (reached by unicast)": "  %d 位在其他网段（通过单播联系）",
	"  %d on %s": "  %d 位在 %s",

	"its TCP port 2425 accepts connections":                                                  "它的 TCP 2425 端口可以连接",
	"its TCP port 2425 refuses connections":                                                  "它的 TCP 2425 端口拒绝连接",
	"its TCP port 2425 does not answer":                                                      "它的 TCP 2425 端口没有响应",
	"%s answers a greeting in %.1f ms; %s":                                                   "%s 回应了问候，用时 %.1f 毫秒；%s",
	": messages work, but files and encryption need that port (a firewall on that machine?)": "：消息能收发，但传文件和加密都要用这个端口（是不是对方电脑的防火墙拦住了？）",
	"no answer from %s to a greeting, but the machine is there (its TCP port refuses): FeiGo or IP Messenger is not running on it, or its firewall drops UDP 2425": "%s 没有回应问候，但这台电脑是开着的（它的 TCP 端口拒绝连接）：对方没有运行 FeiGo 或 IP Messenger，或者它的防火墙拦截了 UDP 2425",
	"no answer from %s to a greeting, though its TCP port 2425 accepts connections: its firewall drops UDP 2425":                                                   "%s 没有回应问候，但它的 TCP 2425 端口可以连接：它的防火墙拦截了 UDP 2425",
	"no answer from %s: the machine is off, or a firewall drops port 2425":                                                                                         "%s 没有回应：这台电脑没开机，或者防火墙拦截了 2425 端口",
	"no answer from %s: a firewall or a different network; add %s in Settings (Extra addresses)":                                                                   "%s 没有回应：可能被防火墙拦截，或者不在同一个网络；请在“设置”的“其他广播地址或主机”中添加 %s",
	"no answer from %s: a firewall or a different VLAN; add %s or %s in Settings (Extra addresses)":                                                                "%s 没有回应：可能被防火墙拦截，或者不在同一个 VLAN；请在“设置”的“其他广播地址或主机”中添加 %s 或 %s",

	"no rule found that drops port %d (nftables and iptables looked at, where present)":                                                                                            "没有发现拦截 %d 端口的规则（已检查本机安装的 nftables 和 iptables）",
	"the firewall drops what no rule lets in: %s (and no rule lets port %d in)":                                                                                                    "防火墙默认拦截所有未放行的连接：%s（且没有规则放行 %d 端口）",
	"the firewall drops FeiGo's port: %s":                                                                                                                                          "防火墙拦截了 FeiGo 的端口：%s",
	"colleagues cannot see or reach this machine until port %d (UDP and TCP) is let in":                                                                                            "在放行 %d 端口（UDP 和 TCP）之前，同事看不到也连不上本机",
	"Windows Defender Firewall has a rule named %q (check it allows %s on this network's profile)":                                                                                 "Windows Defender 防火墙里有名为 %q 的规则（请确认它在当前网络类型下放行了 %s）",
	"Windows Defender Firewall has no rule named %q: unless FeiGo was allowed when Windows asked at its first start, colleagues cannot see or reach this machine (UDP and TCP %d)": "Windows Defender 防火墙里没有名为 %q 的规则：如果 FeiGo 第一次启动时没有在 Windows 的提示里点“允许”，同事就看不到也连不上本机（UDP 和 TCP %d）",
	"to allow it, run in a Command Prompt opened as administrator:":                                                                                                                "要放行它，请以管理员身份打开命令提示符，运行：",

	"%s: start FeiGo first (`feigo serve`); the doctor greets through it": "%s：请先启动 FeiGo（`feigo serve`），诊断要通过它发出问候",
}

// Say is what the doctor says in lang for msg, one of its texts (the ones above), formatted
// with args: for the command line, which adds a sentence of its own to the doctor's.
func Say(lang locale.Lang, msg string, args ...any) string { return words.T(lang, msg, args...) }
