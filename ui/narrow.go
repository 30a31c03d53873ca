package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The window's two shapes. Wide, the colleague list and the tabs sit side by side (a split
// the user can move). Narrower than narrowWidth, the window is a column like FeiQ's buddy
// list: the colleague list alone; opening a conversation shows the tabs in its place, with a
// Colleagues button that goes back.

// narrowWidth is the width under which the window is a column.
const narrowWidth = 600

// panes is the window's content: it lays out the list and the tabs for the window's width.
// Its fields are touched on Fyne's goroutine only.
type panes struct {
	u      *UI
	left   fyne.CanvasObject // the colleague list with its buttons
	right  fyne.CanvasObject // the tabs
	back   *widget.Button    // narrow: back to the list
	box    *fyne.Container   // what the window shows: its Objects change with the shape
	split  *container.Split
	offset float64
	narrow bool
	// talking is set, while narrow, when the tabs are shown instead of the list.
	talking bool
}

func newPanes(u *UI, left, right fyne.CanvasObject) *panes {
	p := &panes{u: u, left: left, right: right, offset: 0.32}
	p.back = widget.NewButtonWithIcon(u.t("Colleagues"), theme.NavigateBackIcon(), p.showList)
	p.box = container.New(p)
	p.wide()
	return p
}

// wide shows the split.
func (p *panes) wide() {
	p.narrow = false
	p.split = container.NewHSplit(p.left, p.right)
	p.split.SetOffset(p.offset)
	p.box.Objects = []fyne.CanvasObject{p.split}
}

// column shows the list, or the tabs with the way back.
func (p *panes) column() {
	if p.split != nil {
		p.offset = p.split.Offset
		p.split = nil
	}
	p.narrow = true
	if p.talking {
		p.box.Objects = []fyne.CanvasObject{container.NewBorder(p.back, nil, nil, nil, p.right)}
	} else {
		p.box.Objects = []fyne.CanvasObject{p.left}
	}
}

// showTalk brings the tabs forward where the window is a column (a conversation was opened):
// the conversation in front is read now.
func (p *panes) showTalk() {
	if p.talking {
		return
	}
	p.talking = true
	if p.narrow {
		p.column()
		p.box.Refresh()
		if c := p.u.front(); c != nil {
			p.u.markRead(c)
		}
	}
}

// tabsShown reports whether the tabs are on screen: what comes to the one in front is seen.
func (p *panes) tabsShown() bool { return !p.narrow || p.talking }

// showList goes back to the colleague list where the window is a column.
func (p *panes) showList() {
	p.talking = false
	if p.narrow {
		p.column()
		p.box.Refresh()
	}
}

// MinSize is the column's: the window may shrink to the colleague list.
func (p *panes) MinSize([]fyne.CanvasObject) fyne.Size {
	min := p.left.MinSize()
	if r := p.right.MinSize(); r.Height > min.Height {
		min.Height = r.Height
	}
	return min
}

// Layout picks the shape for size and fills it: a column below narrowWidth or where the
// list and the tabs do not both fit.
func (p *panes) Layout(_ []fyne.CanvasObject, size fyne.Size) {
	both := p.left.MinSize().Width + p.right.MinSize().Width + 3*theme.Padding() // the split's handle
	if narrow := size.Width < max(narrowWidth, both); narrow != p.narrow {
		if narrow {
			p.column()
		} else {
			p.wide()
		}
	}
	for _, o := range p.box.Objects {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}
