package ui

import (
	"image"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// colourful counts the pixels of img that are clearly coloured (not grey: what text in the
// theme's foreground, or a missing glyph's box, is drawn in).
func colourful(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			hi, lo := max(r, g, bl)>>8, min(r, g, bl)>>8
			if hi-lo > 80 {
				n++
			}
		}
	}
	return n
}

// Emoji render, in colour (issue 15): Fyne's own emoji face (EmojiOneColor) is the fallback
// of FeiGo's theme for regular and for bold text (a message's heading is bold, and bold text
// goes through FeiGo's CJK bold face first). Text without emoji has no coloured pixel, so the
// count is the emoji's; a missing glyph (a box) or a monochrome face would have none.
func TestEmojiRenderInColour(t *testing.T) {
	app := test.NewTempApp(t)
	for _, mode := range []string{"light", "dark"} {
		app.Settings().SetTheme(NewTheme(mode))
		for _, bold := range []bool{false, true} {
			shot := func(s string) image.Image {
				l := widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: bold})
				w := test.NewWindow(l)
				defer w.Close()
				w.Resize(fyne.NewSize(260, 60))
				return w.Canvas().Capture()
			}
			if n := colourful(shot("ab 你好 xyz")); n != 0 {
				t.Fatalf("%s, bold %v: plain text has %d coloured pixels; the measure is wrong", mode, bold, n)
			}
			for _, e := range []string{"😀", "👍", "🎉"} {
				if n := colourful(shot("ab " + e + " 你好")); n < 20 {
					t.Errorf("%s, bold %v: %q drew %d coloured pixels: not a colour emoji", mode, bold, e, n)
				}
			}
		}
	}
}
