package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"feigo/peers"
)

// The colleague list's rows (issue 15), as in FeiQ's buddy list: a small avatar with a dot
// for online (green) or away (amber), the nick in bold, then in grey the department, host,
// address, client and how far the link can be trusted, on one line cut short with an
// ellipsis; at the right the unread badge and the lock. The tick box shows only while the
// user picks colleagues for *Message to many*.

const (
	rowAvatarSize = 24
	rowDotSize    = 9
)

var (
	dotOnline = color.NRGBA{0x2e, 0xb8, 0x4b, 0xff}
	dotAway   = color.NRGBA{0xf5, 0xa6, 0x23, 0xff}
)

// rowView is the parts of a row made by treeCreate.
type rowView struct {
	check  *widget.Check
	avatar *fyne.Container // the disc, the letter and the dot, or hidden (a room, a group)
	disc   *canvas.Circle
	letter *canvas.Text
	dot    *canvas.Circle
	pic    *canvas.Image // the picture the colleague set, over the disc
	text   *widget.RichText
	badge  *widget.Label
	lock   *widget.Icon
}

// rowParts returns the parts of a row made by treeCreate.
func rowParts(o fyne.CanvasObject) rowView {
	row := o.(*fyne.Container) // Border: the centre, then the left and the right
	left := row.Objects[1].(*fyne.Container)
	right := row.Objects[2].(*fyne.Container)
	av := left.Objects[1].(*fyne.Container)
	return rowView{
		check:  left.Objects[0].(*widget.Check),
		avatar: av,
		disc:   av.Objects[0].(*canvas.Circle),
		letter: av.Objects[1].(*canvas.Text),
		dot:    av.Objects[3].(*canvas.Circle),
		pic:    av.Objects[2].(*canvas.Image),
		text:   row.Objects[0].(*widget.RichText),
		badge:  right.Objects[0].(*widget.Label),
		lock:   right.Objects[1].(*widget.Icon),
	}
}

// newRow makes an empty row: the tick box, the avatar, the text, the badge and the lock.
func newRow() fyne.CanvasObject {
	check := widget.NewCheck("", nil)
	check.Hide()
	disc := canvas.NewCircle(color.Transparent)
	letter := canvas.NewText("", color.White)
	letter.TextStyle.Bold = true
	letter.TextSize = 12
	letter.Alignment = fyne.TextAlignCenter
	dot := canvas.NewCircle(dotOnline)
	dot.StrokeWidth = 1.5
	pic := &canvas.Image{FillMode: canvas.ImageFillContain, CornerRadius: rowAvatarSize / 2}
	pic.Hide()
	av := container.New(avatarLayout{}, disc, letter, pic, dot)
	text := widget.NewRichText()
	text.Truncation = fyne.TextTruncateEllipsis
	return container.NewBorder(nil, nil, container.NewHBox(check, av), container.NewHBox(widget.NewLabel(""), widget.NewIcon(nil)), text)
}

// avatarLayout places the disc, the letter centred on it, the picture over them and the
// status dot at its lower right, in a square of rowAvatarSize centred in the row's height.
type avatarLayout struct{}

func (avatarLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(rowAvatarSize, rowAvatarSize)
}

func (avatarLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	top := (size.Height - rowAvatarSize) / 2
	objs[0].Move(fyne.NewPos(0, top))
	objs[0].Resize(fyne.NewSize(rowAvatarSize, rowAvatarSize))
	for _, o := range objs[1:3] {
		o.Move(fyne.NewPos(0, top))
		o.Resize(fyne.NewSize(rowAvatarSize, rowAvatarSize))
	}
	objs[3].Move(fyne.NewPos(rowAvatarSize-rowDotSize+1, top+rowAvatarSize-rowDotSize+1))
	objs[3].Resize(fyne.NewSize(rowDotSize, rowDotSize))
}

// setText shows the row's first words in bold and the rest in grey; warn, when not empty,
// goes between them in the theme's error colour.
func (r rowView) setText(bold, warn, grey string) {
	segs := []widget.RichTextSegment{&widget.TextSegment{Text: bold, Style: widget.RichTextStyle{Inline: true, TextStyle: fyne.TextStyle{Bold: true}}}}
	if warn != "" {
		segs = append(segs, &widget.TextSegment{Text: warn, Style: widget.RichTextStyle{Inline: true, ColorName: theme.ColorNameError, TextStyle: fyne.TextStyle{Bold: true}}})
	}
	if grey != "" {
		segs = append(segs, &widget.TextSegment{Text: grey, Style: widget.RichTextStyle{Inline: true, ColorName: theme.ColorNamePlaceHolder}})
	}
	r.text.Segments = segs
	r.text.Refresh()
}

// setAvatar shows the picture at icon, else nick's initial on who's colour, with the dot of
// status; an empty who hides the avatar (a group's or a room's row).
func (r rowView) setAvatar(nick, who string, status peers.Status, icon string) {
	if who == "" {
		r.avatar.Hide()
		return
	}
	if pic := avatarImage(icon); pic == nil {
		r.pic.Hide()
		r.pic.Image = nil
		r.disc.Show()
		r.letter.Show()
	} else {
		r.disc.Hide() // a picture with transparent parts shows no letter through
		r.letter.Hide()
		if r.pic.Image != pic || !r.pic.Visible() {
			r.pic.Image = pic
			r.pic.Show()
			r.pic.Refresh()
		}
	}
	r.disc.FillColor = avatarColour(who)
	r.letter.Text = initial(nick)
	r.dot.FillColor = dotOnline
	if status == peers.Away {
		r.dot.FillColor = dotAway
	}
	r.dot.StrokeColor = theme.Color(theme.ColorNameBackground)
	r.avatar.Show()
	r.avatar.Refresh()
}

// avatarOf is the avatar of a bubble: the picture the colleague set (icon), else their initial
// on who's colour.
func avatarOf(nick, who, icon string) fyne.CanvasObject {
	im := avatarImage(icon)
	if im == nil {
		return newAvatar(nick, who)
	}
	pic := &canvas.Image{Image: im, FillMode: canvas.ImageFillContain, CornerRadius: avatarSize / 2}
	return container.NewGridWrap(fyne.NewSize(avatarSize, avatarSize), pic)
}

// rowString is the text a row shows, as plain text.
func (r rowView) rowString() string {
	return r.text.String()
}
