package ui

import (
	"context"
	"errors"
	"feigo/internal/portal"
	"fmt"
	"net/url"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"github.com/godbus/dbus/v5"
)

// The XDG desktop portal's file chooser: the desktop's own dialog, with several files at
// once, a path that can be typed and folders chosen as folders.

const (
	portalName    = portal.BusName
	portalPath    = portal.Path
	portalRequest = portal.Request
	portalChooser = "org.freedesktop.portal.FileChooser"
)

// ErrNoPortal is returned when the session has no file chooser portal: the caller falls
// back to Fyne's dialogs.
var ErrNoPortal = portal.ErrNoPortal

// chooserPortal asks the desktop portal on conn for files. Safe for concurrent use.
type chooserPortal struct {
	conn *dbus.Conn
}

// chooseOptions are what the portal's OpenFile is asked for.
type chooseOptions struct {
	title     string
	multiple  bool
	directory bool
}

// open shows the portal's chooser and waits for the person's answer, or ctx: the paths
// chosen, none when they cancelled, or an error (ErrNoPortal when no portal answers). It
// blocks: call it off Fyne's goroutine.
func (p *chooserPortal) open(ctx context.Context, o chooseOptions) ([]string, error) {
	res, err := portal.Call(ctx, p.conn, portalChooser+".OpenFile", map[string]dbus.Variant{
		"multiple":  dbus.MakeVariant(o.multiple),
		"directory": dbus.MakeVariant(o.directory),
	}, "", o.title)
	if errors.Is(err, portal.ErrCancelled) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var uris []string
	if v, ok := res["uris"]; ok {
		uris, _ = v.Value().([]string)
	}
	var paths []string
	for _, s := range uris {
		if u, err := url.Parse(s); err == nil && u.Scheme == "file" {
			paths = append(paths, u.Path)
		}
	}
	return paths, nil
}

// fileChooser asks the person for files or a folder: the desktop portal, or a fake in
// tests. choose blocks (it runs in the background, through work); ErrNoPortal or any
// other error makes the window fall back to Fyne's dialogs.
type fileChooser interface {
	choose(ctx context.Context, o chooseOptions) ([]string, error)
}

// sessionPortal is the portal on the session bus, connected at its first use.
type sessionPortal struct {
	once sync.Once
	p    *chooserPortal
	err  error
}

func (s *sessionPortal) choose(ctx context.Context, o chooseOptions) ([]string, error) {
	s.once.Do(func() {
		conn, err := dbus.ConnectSessionBus()
		if err != nil {
			s.err = fmt.Errorf("%w: %v", ErrNoPortal, err)
			return
		}
		s.p = &chooserPortal{conn: conn}
	})
	if s.err != nil {
		return nil, s.err
	}
	return s.p.open(ctx, o)
}

// chooseFolder asks for a folder, titled title, and hands it to then on Fyne's goroutine:
// through the chooser in the background, or Fyne's folder dialog when it fails. Nothing
// happens when the person cancels.
func (u *UI) chooseFolder(title, start string, then func(dir string)) {
	c := u.chooser
	u.work(func(ctx context.Context) func() {
		paths, err := c.choose(ctx, chooseOptions{title: title, directory: true})
		switch {
		case err != nil:
			return func() { u.fyneFolder(title, start, then) }
		case len(paths) == 0:
			return nil
		}
		return func() { then(paths[0]) }
	})
}

// choose asks for files, or a folder, as o says, and hands the paths to then on Fyne's
// goroutine: through the chooser in the background, or Fyne's dialog (one file or folder)
// when it fails. Nothing happens when the person cancels.
func (u *UI) choose(o chooseOptions, then func(paths []string)) {
	c := u.chooser
	u.work(func(ctx context.Context) func() {
		paths, err := c.choose(ctx, o)
		switch {
		case err != nil && o.directory:
			return func() { u.fyneFolder(o.title, "", func(dir string) { then([]string{dir}) }) }
		case err != nil:
			return func() { u.fyneFile(o.title, then) }
		case len(paths) == 0:
			return nil
		}
		return func() { then(paths) }
	})
}

// fyneFile is choose's fallback for files: Fyne's dialog, which picks one.
func (u *UI) fyneFile(title string, then func(paths []string)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		then([]string{path})
	}, u.Win)
	d.SetTitleText(title)
	d.Show()
}

// fyneFolder is chooseFolder's fallback: Fyne's folder dialog, opened at start if set.
func (u *UI) fyneFolder(title, start string, then func(dir string)) {
	d := dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
		if err == nil && dir != nil {
			then(dir.Path())
		}
	}, u.Win)
	d.SetTitleText(title)
	if start != "" {
		if l, err := storage.ListerForURI(storage.NewFileURI(start)); err == nil {
			d.SetLocation(l)
		}
	}
	d.Show()
}
