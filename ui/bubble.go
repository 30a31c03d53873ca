package ui

import (
	"hash/fnv"
	"image/color"
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
)

// Messages as bubbles (issue 15): a colleague's on the left after their avatar, mine on the
// right, each on a rounded tint. The avatar is the colleague's initial on a colour derived
// from who they are (their FeiGo ID, else their name), so the same colleague keeps it.

const (
	avatarSize   = 32
	bubbleIndent = 56 // the side a bubble leaves free: mine start there, theirs end there
)

// avatarColours are the avatars' backgrounds: mid tones under white text, in light and dark.
var avatarColours = []color.NRGBA{
	{0x1e, 0x88, 0xe5, 0xff}, {0x43, 0xa0, 0x47, 0xff}, {0xe5, 0x39, 0x35, 0xff}, {0x8e, 0x24, 0xaa, 0xff},
	{0xfb, 0x8c, 0x00, 0xff}, {0x00, 0x89, 0x7b, 0xff}, {0x5c, 0x6b, 0xc0, 0xff}, {0x6d, 0x4c, 0x41, 0xff},
}

// avatarColour is who's colour.
func avatarColour(who string) color.NRGBA {
	h := fnv.New32a()
	h.Write([]byte(who))
	return avatarColours[h.Sum32()%uint32(len(avatarColours))]
}

// initial is the letter an avatar shows for nick: its first letter or character, upper case.
func initial(nick string) string {
	for _, r := range strings.TrimSpace(nick) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return string(unicode.ToUpper(r))
		}
	}
	return "?"
}

// newAvatar is the avatar of nick, coloured for who.
func newAvatar(nick, who string) fyne.CanvasObject {
	disc := canvas.NewCircle(avatarColour(who))
	letter := canvas.NewText(initial(nick), color.White)
	letter.TextStyle.Bold = true
	letter.Alignment = fyne.TextAlignCenter
	return container.NewGridWrap(fyne.NewSize(avatarSize, avatarSize), container.NewStack(disc, container.NewCenter(letter)))
}

// bubble puts a message's widgets on a rounded tint, on its side of the conversation: mine
// on the right, a colleague's on the left after their avatar (nil: none, as for a notice).
func bubble(content fyne.CanvasObject, mine bool, avatar fyne.CanvasObject) fyne.CanvasObject {
	tint := color.NRGBA{0x80, 0x80, 0x80, 0x1c}
	if mine {
		pr, pg, pb, _ := theme.Color(theme.ColorNamePrimary).RGBA()
		tint = color.NRGBA{uint8(pr >> 8), uint8(pg >> 8), uint8(pb >> 8), 0x26}
	}
	bg := canvas.NewRectangle(tint)
	bg.CornerRadius = theme.InputRadiusSize() * 2
	card := container.NewStack(bg, container.New(layout.NewCustomPaddedLayout(2, 2, 4, 4), content))
	free := canvas.NewRectangle(color.Transparent)
	free.SetMinSize(fyne.NewSize(bubbleIndent, 1))
	if mine {
		return container.NewBorder(nil, nil, free, nil, card)
	}
	if avatar == nil {
		return container.NewBorder(nil, nil, nil, free, card)
	}
	return container.NewBorder(nil, nil, container.NewVBox(avatar), free, card)
}
