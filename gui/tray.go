package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"feigo/ui"
)

// tray is the system tray's icon and menu. The icon gets a red dot while messages are unread;
// the menu shows and hides the window, sets the status as the window's selector does and marks
// the one chosen, and quits. A left click on the icon shows the window (where the tray host
// sends it: StatusNotifierItem's Activate).
type tray struct {
	desk        desktop.App
	win         *ui.UI
	icon, badge fyne.Resource
	quit        func()
	unread      int
	// onTapped sets what a left click on the icon does: systray.SetOnTapped.
	onTapped func(func())
}

// newTray puts the icon and its menu in desk's tray for the window win; quit ends the app;
// post hands a function to Fyne's goroutine.
func newTray(desk desktop.App, win *ui.UI, icon fyne.Resource, quit func(), onTapped func(func()), post func(func())) *tray {
	t := &tray{desk: desk, win: win, icon: icon, badge: withBadge(icon.Content()), quit: quit, onTapped: onTapped}
	t.refresh()
	// A left click on the icon shows the window. Fyne's SetSystemTrayWindow makes it show the
	// window itself (and closing it hide it: Main sets its own closing after this); the click is
	// then taken over so that the window knows it is in front again (ui.UI.Show).
	desk.SetSystemTrayWindow(win.Win)
	t.onTapped(func() { post(win.Show) })
	return t
}

// setUnread shows the total of unread messages.
func (t *tray) setUnread(n int) {
	t.unread = n
	t.refresh()
}

// refresh sets the icon and the menu again, for the unread count and the status.
func (t *tray) refresh() {
	label := "FeiGo"
	res := t.icon
	if t.unread > 0 {
		label = fmt.Sprintf("FeiGo (%d)", t.unread)
		res = t.badge
	}
	t.desk.SetSystemTrayIcon(res)
	t.desk.SetSystemTrayMenu(t.menu(label))
}

func (t *tray) menu(label string) *fyne.Menu {
	lang := ui.ParseLang(t.win.Settings().Language)
	show := fyne.NewMenuItem(ui.T(lang, "Show"), t.win.Show)
	hide := fyne.NewMenuItem(ui.T(lang, "Hide"), t.win.Hide)
	// The window's status, set as its selector sets it (with the away message of the settings).
	online := fyne.NewMenuItem(ui.T(lang, "Online"), func() { t.win.SetAway(false) })
	away := fyne.NewMenuItem(ui.T(lang, "Away"), func() { t.win.SetAway(true) })
	away.Checked = t.win.Away()
	online.Checked = !away.Checked
	// Fyne adds a Quit of its own to a tray menu without one, but only in the next menu set:
	// this one is ours from the start.
	quit := fyne.NewMenuItem(ui.T(lang, "Quit"), t.quit)
	quit.IsQuit = true
	return fyne.NewMenu(label, show, hide, fyne.NewMenuItemSeparator(), online, away, fyne.NewMenuItemSeparator(), quit)
}

// closeWindow is what closing the window (✕) does. Where the desktop has a tray to come back
// from (hasTray, asked off Fyne's goroutine: it may ask D-Bus), the window hides to it, unless
// the settings say closing quits; otherwise the app quits, and the node says goodbye to the LAN
// (BR_EXIT) at once. post hands a function to Fyne's goroutine. Call it on Fyne's goroutine.
func closeWindow(closeQuits bool, hasTray func() bool, hide, quit func(), post func(func())) {
	if closeQuits || hasTray == nil {
		quit()
		return
	}
	go func() {
		keep := hasTray()
		post(func() {
			if keep {
				hide()
			} else {
				quit()
			}
		})
	}()
}
