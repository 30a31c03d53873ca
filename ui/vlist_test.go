package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
)

// allRows returns every row of c's list, oldest first, in a box: those out of view too, made
// for the test (the list itself holds only the rows near the view).
func allRows(c *conv) *fyne.Container {
	box := container.NewVBox()
	c.list.positions()
	for _, it := range c.list.items {
		box.Add(c.list.ensure(it))
	}
	return box
}
