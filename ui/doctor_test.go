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
// by name and an address, in plain words.
func TestNetworkDoctorInTheWindow(t *testing.T) {
	u := newTestWindow(t, test.NewTempApp(t), greetCore{newFakeCore(t)}, Options{Settings: profile.Settings{Language: "en"}})
	u.HandleEvent(online("b", "Bob", "Dev", bobAddr))
	u.settle()
	test.Tap(findButton(u.Win.Content(), "Network doctor"))
	top := u.Win.Canvas().Overlays().Top()
	report := func() string { return strings.Join(deepTexts(top), "\n") }
	u.until("the doctor's report", func() bool { return strings.Contains(report(), "Firewall:") })
	for _, want := range []string{"Networks:", "Port 2425:", "Colleagues (1):"} {
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
	for _, c := range []struct{ q, want string }{
		{"Bob", "10.0.0.2 answers a greeting in 1.5 ms"},
		{"10.0.5.7", "no answer from 10.0.5.7: a firewall or a different VLAN; add 10.0.5.255 or 10.0.5.7 in Settings"},
	} {
		box.SetText(c.q)
		test.Tap(findButton(top, "Check"))
		u.until("the greeting of "+c.q, func() bool { return strings.Contains(report(), c.want) })
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
