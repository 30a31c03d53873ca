package ui

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"feigo/lan"
	"feigo/profile"
)

// greetCore is a node that greets: Bob answers, 10.0.5.7 does not, on another subnet.
type greetCore struct{ *fakeCore }

func (g greetCore) Resolve(q string) (netip.AddrPort, error) {
	if q == "Bob" {
		return bobAddr, nil
	}
	return netip.AddrPort{}, errors.New("no colleague " + q)
}

func (g greetCore) Greet(_ context.Context, addr netip.AddrPort, _ time.Duration) (lan.Greeting, error) {
	if addr == bobAddr {
		return lan.Greeting{Addr: addr, Answered: true, RTT: 1500 * time.Microsecond, TCP: "open"}, nil
	}
	return lan.Greeting{Addr: addr, TCP: "no answer"}, nil
}

// TestNetworkDoctorInTheWindow (issue 16): the window's Network doctor shows what `feigo
// doctor` says for its own node (networks, port, firewall, colleagues) and checks a colleague
// by name and an address, in plain words: English, and Chinese in a Chinese window.
func TestNetworkDoctorInTheWindow(t *testing.T) {
	type check struct{ q, want string }
	for _, c := range []struct {
		lang, button, checkButton string
		report                    []string
		checks                    []check
	}{
		{"en", "Network doctor", "Check", []string{"Networks:", "Port 2425:", "Firewall:", "Colleagues (1):"}, []check{
			{"Bob", "10.0.0.2 answers a greeting in 1.5 ms"},
			{"10.0.5.7", "no answer from 10.0.5.7: a firewall or a different VLAN; add 10.0.5.255 or 10.0.5.7 in Settings"},
			{"Nobody", `No colleague or address matches "Nobody".`},
		}},
		{"zh", "网络诊断", "检查", []string{"网络：", "端口 2425：", "防火墙：", "同事（1 位）："}, []check{
			{"Bob", "10.0.0.2 回应了问候，用时 1.5 毫秒；它的 TCP 2425 端口可以连接"},
			{"10.0.5.7", "10.0.5.7 没有回应：可能被防火墙拦截，或者不在同一个 VLAN；请在“设置”的“其他广播地址或主机”中添加 10.0.5.255 或 10.0.5.7"},
			{"Nobody", `没有找到与 "Nobody" 相符的同事或地址。`},
		}},
	} {
		t.Run(c.lang, func(t *testing.T) {
			u := newTestWindow(t, test.NewTempApp(t), greetCore{newFakeCore(t)}, Options{Settings: profile.Settings{Language: c.lang}})
			u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
			u.settle()
			test.Tap(findButton(u.Win.Content(), c.button))
			top := u.Win.Canvas().Overlays().Top()
			report := func() string { return strings.Join(deepTexts(top), "\n") }
			u.until("the doctor's report", func() bool { return strings.Contains(report(), c.report[2]) })
			for _, want := range c.report {
				if !strings.Contains(report(), want) {
					t.Fatalf("the report lacks %q:\n%s", want, report())
				}
			}
			var box *widget.Entry
			for _, e := range findEntries(top) {
				box = e
			}
			if box == nil {
				t.Fatal("no box for a colleague or address")
			}
			for _, k := range c.checks {
				box.SetText(k.q)
				test.Tap(findButton(top, c.checkButton))
				u.until("the greeting of "+k.q, func() bool { return strings.Contains(report(), k.want) })
			}
		})
	}
}

// findEntries returns the text boxes under o.
func findEntries(o fyne.CanvasObject) []*widget.Entry {
	if e, ok := o.(*widget.Entry); ok {
		return []*widget.Entry{e}
	}
	var out []*widget.Entry
	if c, ok := o.(*fyne.Container); ok {
		for _, c := range c.Objects {
			out = append(out, findEntries(c)...)
		}
		return out
	}
	if w, ok := o.(fyne.Widget); ok {
		for _, c := range test.WidgetRenderer(w).Objects() {
			out = append(out, findEntries(c)...)
		}
	}
	return out
}
