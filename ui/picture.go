package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// My picture (issue 15), in Settings: chosen from an image file, it takes effect at once
// (the node makes a small copy in the profile and sends it to iptux and FeiGo colleagues).

// pictureCore is a core that keeps and sends this user's picture.
type pictureCore interface {
	Picture() string
	SetPicture(path string) error
}

// pictureItem is Settings' row for my picture, nil when the core has none.
func (u *UI) pictureItem() *widget.FormItem {
	pc, ok := u.core.(pictureCore)
	if !ok {
		return nil
	}
	self := u.core.Self()
	preview := container.NewGridWrap(fyne.NewSize(avatarSize, avatarSize))
	var remove *widget.Button
	show := func(path string) {
		preview.Objects = []fyne.CanvasObject{avatarOf(self.Nick, "me", path)}
		if path == "" {
			remove.Disable()
		} else {
			remove.Enable()
		}
		preview.Refresh()
	}
	set := func(path string) {
		u.work(func(context.Context) func() {
			err := pc.SetPicture(path)
			now := pc.Picture()
			return func() {
				if err != nil {
					dialog.ShowError(err, u.Win)
				}
				show(now)
			}
		})
	}
	choose := widget.NewButton(u.t("Choose…"), func() {
		u.choose(chooseOptions{title: u.t("My picture")}, func(paths []string) {
			if len(paths) == 1 {
				set(paths[0])
			}
		})
	})
	remove = widget.NewButton(u.t("Remove"), func() { set("") })
	u.work(func(context.Context) func() {
		now := pc.Picture()
		return func() { show(now) }
	})
	note := widget.NewLabel(u.t("Sent to iptux and FeiGo colleagues (a PNG, JPEG or GIF image)."))
	note.Wrapping = fyne.TextWrapWord
	return widget.NewFormItem(u.t("My picture"), container.NewVBox(container.NewHBox(preview, choose, remove), note))
}
