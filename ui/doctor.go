package ui

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"feigo/doctor"
	"feigo/lan"
	"feigo/peers"
)

// The network doctor in the window (issue 16): what `feigo doctor` says, for the window's own
// node, and a box to check one colleague or address: whether it answers a greeting, whether
// its TCP port does, the round trip, and the likely reason when it does not.

// greeter is a core that can greet a colleague or an address (the node).
type greeter interface {
	Resolve(query string) (netip.AddrPort, error)
	Greet(ctx context.Context, addr netip.AddrPort, timeout time.Duration) (lan.Greeting, error)
}

// doctorGreetWait is how long a greeting waits for its answer.
const doctorGreetWait = 2 * time.Second

// showDoctor opens the network doctor's dialog; what it says is gathered in the background.
func (u *UI) showDoctor() {
	report := widget.NewLabel(u.t("Looking at the network…"))
	report.Wrapping = fyne.TextWrapWord
	report.TextStyle.Monospace = true
	result := widget.NewLabel("")
	result.Wrapping = fyne.TextWrapWord
	target := widget.NewEntry()
	target.SetPlaceHolder(u.t("Colleague or address (10.0.5.7)"))
	var subnets []netip.Prefix
	check := widget.NewButton(u.t("Check"), nil)
	g, canGreet := u.core.(greeter)
	check.OnTapped = func() {
		q := strings.TrimSpace(target.Text)
		if q == "" || !canGreet {
			return
		}
		check.Disable()
		result.SetText(u.t("Greeting %s…", q))
		nets, lang := subnets, u.lang
		listed := slices.Collect(maps.Values(u.peers))
		u.work(func(ctx context.Context) func() {
			text := doctorGreet(ctx, g, q, nets, listed, lang)
			return func() {
				check.Enable()
				result.SetText(text)
			}
		})
	}
	target.OnSubmitted = func(string) { check.OnTapped() }
	if !canGreet {
		check.Disable()
	}
	self, listed, lang := u.core.Self(), slices.Collect(maps.Values(u.peers)), u.lang // those the window lists
	u.work(func(context.Context) func() {
		var b strings.Builder
		nets := doctor.Check(&b, lang, self.Nick, true, listed)
		return func() {
			subnets = nets
			report.SetText(strings.TrimRight(b.String(), "\n"))
		}
	})
	body := container.NewBorder(nil, container.NewVBox(widget.NewSeparator(),
		container.NewBorder(nil, nil, nil, check, target), result), nil, nil, container.NewVScroll(report))
	cs := u.Win.Canvas().Size()
	body.Resize(fyne.NewSize(max(240, min(640, cs.Width-60)), max(200, min(480, cs.Height-140))))
	d := dialog.NewCustom(u.t("Network doctor"), u.t("Close"), body, u.Win)
	d.Resize(fyne.NewSize(max(260, min(680, cs.Width-20)), max(260, min(560, cs.Height-20))))
	d.Show()
	u.Win.Canvas().Focus(target)
}

// doctorGreet greets the colleague or address q through g and says, in lang, what came of
// it; listed are the colleagues the window lists (to say why a name matches no one).
func doctorGreet(ctx context.Context, g greeter, q string, subnets []netip.Prefix, listed []peers.Peer, lang Lang) string {
	addr, err := g.Resolve(q)
	if err != nil {
		ap, perr := lan.ParseTarget(q, doctor.Port)
		if perr != nil {
			if n := len(peers.Find(listed, q)); n > 1 {
				return T(lang, "%q matches %d colleagues: type the address of the one to check.", q, n)
			}
			return T(lang, "No colleague or address matches %q.", q)
		}
		addr = ap
	}
	gr, err := g.Greet(ctx, addr, doctorGreetWait)
	if errors.Is(err, lan.ErrBusy) {
		return T(lang, "Too many greetings are under way; try again in a moment.")
	}
	if err != nil {
		return err.Error()
	}
	return doctor.Diagnose(gr, subnets, lang)
}
