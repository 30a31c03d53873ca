package ui

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"feigo/ipmsg"
	"feigo/lan"
	"feigo/profile"
)

// keepName says how long the history is kept.
func keepName(lang Lang, days int) string {
	if days <= 0 {
		return T(lang, "Forever")
	}
	return T(lang, "%d days", days)
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// showSettings edits the profile's settings. Names apply at once; network settings on the
// next start.
func (u *UI) showSettings() {
	st := u.opt.Settings
	self := u.core.Self()
	nick, group := widget.NewEntry(), widget.NewEntry()
	nick.SetText(self.Nick)
	group.SetText(self.Group)
	dl := widget.NewEntry()
	dl.SetText(st.DownloadDir)
	away := widget.NewEntry()
	away.SetText(st.AwayText)
	ifaces, bcast, port := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	ifaces.SetText(strings.Join(st.Interfaces, ", "))
	bcast.SetText(strings.Join(st.Broadcast, ", "))
	if st.Port != 0 {
		port.SetText(strconv.Itoa(st.Port))
	}
	port.SetPlaceHolder("2425")
	auto := widget.NewEntry()
	auto.SetText(strings.Join(st.AutoAccept, ", "))
	modes := []string{u.t("Enter sends (Shift+Enter: new line)"), u.t("Ctrl+Enter sends (as in FeiQ)")}
	enter := widget.NewRadioGroup(modes, nil)
	enter.SetSelected(modes[0])
	if st.EnterMode == "ctrl-enter" {
		enter.SetSelected(modes[1])
	}
	langs := []string{"English", "简体中文"}
	lang := widget.NewSelect(langs, nil)
	lang.SetSelectedIndex(0)
	if u.lang == Chinese {
		lang.SetSelectedIndex(1)
	}
	keepDays := []int{0, 7, 30, 90, 365}
	var keepNames []string
	for _, d := range keepDays {
		keepNames = append(keepNames, keepName(u.lang, d))
	}
	if !slices.Contains(keepDays, st.HistoryDays) { // set by hand in the profile
		keepDays = append(keepDays, st.HistoryDays)
		keepNames = append(keepNames, keepName(u.lang, st.HistoryDays))
	}
	keep := widget.NewSelect(keepNames, nil)
	keep.SetSelectedIndex(slices.Index(keepDays, st.HistoryDays))
	themes := []string{ThemeDesktop, ThemeLight, ThemeDark}
	look := widget.NewSelect([]string{u.t("As the desktop (light if it does not say)"), u.t("Light"), u.t("Dark")}, nil)
	look.SetSelectedIndex(max(0, slices.Index(themes, st.Theme)))
	minimised := widget.NewCheck(u.t("Start minimised"), nil)
	minimised.SetChecked(st.StartMinimised)
	closeQuits := widget.NewCheck(u.t("Closing the window quits FeiGo (instead of keeping it in the tray)"), nil)
	closeQuits.SetChecked(st.CloseQuits)
	login := widget.NewCheck(u.t("Start FeiGo when I log in"), nil)
	login.SetChecked(st.Autostart)
	receipts := widget.NewCheck(u.t("Tell colleagues when I have read their messages"), nil)
	receipts.SetChecked(!st.NoReadReceipts)
	shotHides := widget.NewCheck(u.t("Hide FeiGo while taking a screenshot"), nil)
	shotHides.SetChecked(!st.ScreenshotKeepWindow)
	shotKey := widget.NewCheck(u.t("Ctrl+Alt+A takes a screenshot anywhere on the desktop"), nil)
	shotKey.SetChecked(!st.NoScreenshotKey)
	exchange := widget.NewCheck(u.t("Trade colleague lists with FeiGo colleagues on other subnets"), nil)
	exchange.SetChecked(!st.NoPeerExchange)
	hostList := widget.NewCheck(u.t("Give IP Messenger users my list of colleagues"), nil)
	hostList.SetChecked(!st.NoHostList)
	virtual := widget.NewCheck(u.t("Also use virtual interfaces (containers, VPN tunnels)"), nil)
	virtual.SetChecked(st.VirtualInterfaces)
	ipv6 := widget.NewCheck(u.t("Use IPv6 where the network has it"), nil)
	ipv6.SetChecked(!st.NoIPv6)
	items := []*widget.FormItem{
		widget.NewFormItem(u.t("Nickname"), nick),
		widget.NewFormItem(u.t("Group"), group),
		widget.NewFormItem(u.t("Away message"), away),
		widget.NewFormItem(u.t("Download folder"), dl),
		widget.NewFormItem(u.t("Auto-accept files from these verified colleagues (IDs from feigo peers, comma-separated)"), auto),
		widget.NewFormItem("Enter", enter),
		widget.NewFormItem(u.t("Language"), lang),
		widget.NewFormItem(u.t("Keep history"), keep),
		widget.NewFormItem(u.t("Colours"), look),
		widget.NewFormItem("", minimised),
		widget.NewFormItem("", closeQuits),
		widget.NewFormItem("", login),
		widget.NewFormItem("", receipts),
		widget.NewFormItem("", shotHides),
		widget.NewFormItem("", shotKey),
		widget.NewFormItem(u.t("Network interfaces (comma-separated, empty: all)"), ifaces),
		widget.NewFormItem("", virtual),
		widget.NewFormItem("", ipv6),
		widget.NewFormItem(u.t("Extra broadcast addresses / hosts (comma-separated)"), bcast),
		widget.NewFormItem(u.t("Port"), port),
		widget.NewFormItem("", exchange),
		widget.NewFormItem("", hostList),
		widget.NewFormItem("", widget.NewLabel(u.t("Network changes and the screenshot key apply on the next start."))),
	}
	if pic := u.pictureItem(); pic != nil {
		items = slices.Insert(items, 2, pic)
	}
	policy, applyPolicy := u.policyItems(st)
	items = append(items, policy...)
	// The form scrolls inside the dialog: it is taller than a small window, whose bottom
	// would otherwise cut it under the dialog's buttons.
	form := container.NewVScroll(widget.NewForm(items...))
	cs := u.Win.Canvas().Size()
	form.SetMinSize(fyne.NewSize(max(240, min(600, cs.Width-60)), max(200, min(form.Content.MinSize().Height, cs.Height-140))))
	d := dialog.NewCustomConfirm(u.t("Settings"), u.t("Save"), u.t("Cancel"), form, func(ok bool) {
		if !ok {
			return
		}
		st.Nick, st.Group = strings.TrimSpace(nick.Text), strings.TrimSpace(group.Text)
		st.DownloadDir, st.AwayText = strings.TrimSpace(dl.Text), away.Text
		st.AutoAccept = splitList(auto.Text)
		st.Interfaces = splitList(ifaces.Text)
		st.NoIPv6 = !ipv6.Checked
		var refused []string
		st.Broadcast, refused = checkTargets(splitList(bcast.Text), st.Port, st.NoIPv6)
		st.Port, _ = strconv.Atoi(strings.TrimSpace(port.Text))
		st.EnterMode = "enter"
		if enter.Selected == modes[1] {
			st.EnterMode = "ctrl-enter"
		}
		st.Language = "en"
		if lang.SelectedIndex() == 1 {
			st.Language = "zh"
		}
		st.StartMinimised, st.CloseQuits = minimised.Checked, closeQuits.Checked
		st.Autostart = login.Checked
		st.NoReadReceipts, st.ScreenshotKeepWindow, st.NoScreenshotKey = !receipts.Checked, !shotHides.Checked, !shotKey.Checked
		st.NoPeerExchange, st.NoHostList, st.VirtualInterfaces = !exchange.Checked, !hostList.Checked, virtual.Checked
		st.Theme = themes[max(0, look.SelectedIndex())]
		applyPolicy(&st)
		if i := keep.SelectedIndex(); i >= 0 {
			st.HistoryDays = keepDays[i]
		}
		u.applySettings(st)
		if len(refused) > 0 {
			dialog.ShowError(errors.New(u.t("These broadcast addresses were not saved:")+"\n"+strings.Join(refused, "\n")), u.Win)
		}
	}, u.Win)
	d.Show()
}

// checkTargets keeps the extra announce addresses the node takes, and says why each other one
// is refused (a node would not start with it).
func checkTargets(in []string, port int, noIPv6 bool) (ok, refused []string) {
	if port == 0 {
		port = lan.DefaultPort
	}
	for _, s := range in {
		if _, err := lan.CheckTarget(s, port, noIPv6); err != nil {
			refused = append(refused, err.Error())
			continue
		}
		ok = append(ok, s)
	}
	return ok, refused
}

// ApplySettings takes new settings as the Settings dialog's Save does. Call it on Fyne's
// goroutine.
func (u *UI) ApplySettings(st profile.Settings) { u.applySettings(st) }

// applySettings takes new settings: saved, names announced, the window rebuilt in the
// chosen language with its conversations kept.
func (u *UI) applySettings(st profile.Settings) {
	old := u.opt.Settings
	u.opt.Settings = st
	if u.opt.Save != nil {
		if err := u.opt.Save(st); err != nil {
			dialog.ShowError(err, u.Win)
		}
	}
	if policyChanged(old, st) {
		u.work(func(context.Context) func() { u.core.ApplyPolicy(st); return nil })
	}
	if st.Nick != "" && (st.Nick != old.Nick || st.Group != old.Group) {
		nick, group := st.Nick, st.Group
		u.work(func(context.Context) func() { u.core.SetName(nick, group); return nil })
		u.self.SetText(selfText(ipmsg.Entry{Nick: nick, Group: group}))
	}
	for _, c := range u.convs {
		c.input.ctrlEnter = st.EnterMode == "ctrl-enter"
	}
	if st.Theme != old.Theme {
		u.theme = u.theme.withMode(st.Theme)
		u.app.Settings().SetTheme(u.theme)
	}
	if st.HistoryDays != old.HistoryDays {
		days := st.HistoryDays
		u.work(func(context.Context) func() { u.core.SetRetention(days); return nil })
	}
	if rr, ok := u.core.(interface{ SetReadReceipts(bool) }); ok && st.NoReadReceipts != old.NoReadReceipts {
		on := !st.NoReadReceipts
		u.work(func(context.Context) func() { rr.SetReadReceipts(on); return nil })
	}
	if lang := ParseLang(st.Language); lang != u.lang {
		u.lang = lang
		u.rebuild()
	}
	if u.opt.OnSettings != nil {
		u.opt.OnSettings(st)
	}
}

// rebuild makes the window again (after a language change), keeping the conversations (they
// reload from the history, where everything they showed is) and the transfers in them, the
// tabs in their order with the same one in front, a history search, and the name shown.
func (u *UI) rebuild() {
	old, oldTabs, front, oldXfers := u.convs, slices.Clone(u.tabs.Items), u.tabs.Selected(), u.xferTab
	oldHist, words := u.histTab, ""
	if oldHist != nil {
		words = u.histEntry.Text
	}
	self, away := u.self.Text, u.status.SelectedIndex()
	u.convs, u.offers, u.sends = map[string]*conv{}, map[int]*offerCard{}, map[int][]*offerCard{}
	u.histTab = nil
	u.histSeq++
	u.Win.SetContent(u.build())
	u.self.SetText(self) // a new name may not have reached the node yet
	u.status.SetSelectedIndex(away)
	keys := make([]string, 0, len(old))
	for k := range old {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := old[k]
		var nc *conv
		if c.room != nil {
			nc = u.remakeRoomConv(c)
		} else {
			nc = u.newConv(c.key, c.peerID, c.addr, c.nick, c.hkey, c.user, c.host)
		}
		u.convs[k] = nc
		nc.unread = c.unread
		for _, m := range c.msgs {
			if m.id == 0 && (c.room == nil || slices.Contains(c.room.inflight, m)) { // not in the history yet (being sent): carried over as it is
				cp := *m
				cp.from = u.t("Me")
				nc.add(&cp)
				if c.room != nil {
					nc.room.inflight = append(nc.room.inflight, &cp)
				}
				for k, pm := range u.pending {
					if pm.m == m {
						u.pending[k] = pendingMsg{nc.msgs[len(nc.msgs)-1], pm.at}
					}
				}
			}
		}
		for _, card := range c.cards {
			if t, ok := u.xfers[card.id]; ok {
				u.addCard(nc, t)
			}
		}
	}
	newTab := map[*container.TabItem]*container.TabItem{oldXfers: u.xferTab}
	for _, ti := range oldTabs {
		switch {
		case ti == oldHist:
			u.showHistory()
			u.histEntry.SetText(words)
			u.searchHistory(words)
			newTab[ti] = u.histTab
		default:
			for k, c := range old {
				if c.tab == ti {
					u.tabs.Append(u.convs[k].tab)
					newTab[ti] = u.convs[k].tab
				}
			}
		}
	}
	if ti, ok := newTab[front]; ok {
		u.tabs.Select(ti)
	}
	u.refreshPeers()
	u.refreshTransfers()
	u.setUnread()
}
