package ui

import (
	"context"
	"errors"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"feigo/control"
	"feigo/peers"
	"feigo/profile"
)

// This file is the window's side of trust: the lock on each colleague and conversation, the
// dialog when a verified colleague's key changes, the question before sending to a client
// that cannot encrypt, and the policy in the settings.

// The lock icons (24×24, drawn in the theme's colour by fyne's themed resources).
var (
	lockIcon = fyne.NewStaticResource("lock.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">`+
		`<path fill="#000000" d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5zm-3 5a3 3 0 0 1 6 0v3H9z"/></svg>`))
	openLockIcon = fyne.NewStaticResource("lock-open.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">`+
		`<path fill="#000000" d="M12 2a5 5 0 0 0-5 5h2a3 3 0 0 1 6 0v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5z"/></svg>`))
)

// keyIcon shows how far a colleague can be trusted: a green lock when verified, a lock when
// encrypted, an open lock when not, a red warning when they are not who they may seem.
func keyIcon(p peers.Peer) fyne.Resource {
	switch {
	case p.Warning != "":
		return theme.NewErrorThemedResource(theme.WarningIcon())
	case p.Verified:
		return theme.NewSuccessThemedResource(lockIcon)
	case p.Secure:
		return theme.NewThemedResource(lockIcon)
	}
	return theme.NewDisabledResource(openLockIcon)
}

// alertKeyChange shows, once per key, a dialog that cannot be missed when a colleague the
// user verified is announced with another key: their key changed, or someone is taking their
// place. Until the new key is verified the colleague is listed apart with a warning and
// their files are not accepted automatically.
func (u *UI) alertKeyChange(p peers.Peer) {
	if !p.KeyChanged || u.keyAlerted[p.Fingerprint] {
		return
	}
	if u.keyAlerted == nil {
		u.keyAlerted = map[string]bool{}
	}
	u.keyAlerted[p.Fingerprint] = true
	text := widget.NewLabel(u.t("%s, whom you verified, is now announced with another key (%s at %s).", p.Nick, p.Host, p.Addr.Addr()) + "\n\n" +
		u.t("This happens when they reinstall FeiGo, or when someone is taking their place. Until you compare the safety code with them again, in person or on the phone, they are shown with a warning and their files are not accepted automatically."))
	text.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(nil, nil, widget.NewIcon(theme.NewErrorThemedResource(theme.WarningIcon())), nil, text)
	d := dialog.NewCustomConfirm(u.t("%s's key changed", p.Nick), u.t("Verify now"), u.t("Later"), content, func(now bool) {
		if now {
			u.openConv(whoPeer(p), true).verify()
		}
	}, u.Win)
	d.Resize(fyne.NewSize(520, 300))
	d.Show()
}

// askUnencrypted asks, under the "ask" policy, whether a message or files may go to a
// colleague who cannot encrypt; yes allows them (for good, with "Always"), and then runs
// again.
func (u *UI) askUnencrypted(e *control.UnencryptedError, again func()) {
	text := widget.NewLabel(u.t("%s uses %s, which cannot encrypt: what you send crosses the network readable by anyone on it.", e.Nick, e.Client))
	text.Wrapping = fyne.TextWrapWord
	always := widget.NewCheck(u.t("Always for %s", e.Nick), nil)
	d := dialog.NewCustomConfirm(u.t("Send to %s unencrypted?", e.Nick), u.t("Send"), u.t("Cancel"),
		container.NewVBox(text, always), func(ok bool) {
			if !ok {
				return
			}
			addr := e.Addr
			if always.Checked && !slices.Contains(u.opt.Settings.LegacyAllowed, e.PeerID) {
				st := u.opt.Settings
				st.LegacyAllowed = append(slices.Clone(st.LegacyAllowed), e.PeerID)
				u.applySettings(st)
			}
			u.work(func(context.Context) func() {
				u.core.AllowUnencrypted(addr)
				return again
			})
		}, u.Win)
	d.Resize(fyne.NewSize(480, 220))
	d.Show()
}

// unencryptedAsk returns the error that asks the user, if err is one.
func unencryptedAsk(err error) (*control.UnencryptedError, bool) {
	var e *control.UnencryptedError
	if errors.As(err, &e) && !e.Refused {
		return e, true
	}
	return nil, false
}

// policyItems are the trust policy's rows of the settings form; apply copies the choices
// into st when the form is saved.
func (u *UI) policyItems(st profile.Settings) (items []*widget.FormItem, apply func(st *profile.Settings)) {
	encNames := []string{u.t("Required"), u.t("Preferred: unencrypted when their channel cannot be reached")}
	enc := widget.NewSelect(encNames, nil)
	enc.SetSelectedIndex(0)
	if st.Encryption == profile.EncryptionPreferred {
		enc.SetSelectedIndex(1)
	}
	legacyValues := []string{profile.LegacyAllow, profile.LegacyAsk, profile.LegacyRefuse}
	legacy := widget.NewSelect([]string{u.t("Allow"), u.t("Ask before sending to each"), u.t("Refuse")}, nil)
	legacy.SetSelectedIndex(max(0, slices.Index(legacyValues, st.Legacy)))
	items = []*widget.FormItem{
		widget.NewFormItem(u.t("Encryption with FeiGo colleagues"), enc),
		widget.NewFormItem(u.t("Clients that cannot encrypt (IP Messenger, FeiQ, iptux)"), legacy),
	}
	return items, func(st *profile.Settings) {
		st.Encryption = profile.EncryptionRequired
		if enc.SelectedIndex() == 1 {
			st.Encryption = profile.EncryptionPreferred
		}
		st.Legacy = legacyValues[max(0, legacy.SelectedIndex())]
	}
}

// policyChanged reports whether the trust policy differs between two settings.
func policyChanged(a, b profile.Settings) bool {
	return a.Encryption != b.Encryption || a.Legacy != b.Legacy || !slices.Equal(a.LegacyAllowed, b.LegacyAllowed)
}

// The Chinese of this file's texts (merged into zh).
var zhTrust = map[string]string{
	"%s, whom you verified, is now announced with another key (%s at %s).": "您验证过的 %s 现在以另一个密钥出现（%s，%s）。",
	"This happens when they reinstall FeiGo, or when someone is taking their place. Until you compare the safety code with them again, in person or on the phone, they are shown with a warning and their files are not accepted automatically.": "对方重装了 FeiGo，或者有人在冒充对方时会出现这种情况。在您当面或电话里与对方重新核对安全码之前，对方会带警告显示，其文件也不会被自动接收。",
	"%s's key changed": "%s 的密钥变了",
	"Verify now":       "立即验证",
	"Later":            "稍后",
	"%s uses %s, which cannot encrypt: what you send crosses the network readable by anyone on it.": "%s 使用的 %s 不能加密：您发送的内容在网络上任何人都能读到。",
	"Always for %s":           "对 %s 始终允许",
	"Send to %s unencrypted?": "不加密发送给 %s？",
	"Required":                "必须",
	"Preferred: unencrypted when their channel cannot be reached": "优先：连不上加密通道时不加密",
	"Allow":                            "允许",
	"Ask before sending to each":       "发送前逐个询问",
	"Refuse":                           "拒绝",
	"Encryption with FeiGo colleagues": "与 FeiGo 同事之间的加密",
	"Clients that cannot encrypt (IP Messenger, FeiQ, iptux)": "不能加密的客户端（IP Messenger、飞秋、iptux）",
}

func init() {
	for k, v := range zhTrust {
		zh[k] = v
	}
}
