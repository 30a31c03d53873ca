package ui

import (
	"bufio"
	"context"
	"errors"
	"feigo/event"
	"feigo/internal/testbus"
	"feigo/ipmsg"
	"feigo/lan"
	"feigo/xfer"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/godbus/dbus/v5"
)

// privateBus starts a session bus of the test's own and returns its address. It starts no
// service on demand (no service directories): a desktop portal installed on the machine must
// not answer where the test says there is none.
func privateBus(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("no dbus-daemon:", err)
	}
	conf := filepath.Join(t.TempDir(), "session.conf")
	if err := os.WriteFile(conf, testbus.Config("unix:tmpdir="+filepath.Dir(conf)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(addr)
}

func busConn(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// fakePortal is a FileChooser portal: it records what it was asked and answers with code
// and uris on the request's path, as xdg-desktop-portal does once the person has chosen.
type fakePortal struct {
	mu    sync.Mutex
	conn  *dbus.Conn
	code  uint32
	uris  []string
	title string
	opts  map[string]dbus.Variant
}

func (f *fakePortal) OpenFile(sender dbus.Sender, parent, title string, opts map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.title, f.opts = title, opts
	token, _ := opts["handle_token"].Value().(string)
	path := dbus.ObjectPath(portalPath + "/request/" + strings.ReplaceAll(strings.TrimPrefix(string(sender), ":"), ".", "_") + "/" + token)
	// Before the reply: the client must be listening already (the real portal may be as quick).
	_ = f.conn.Emit(path, portalRequest+".Response", f.code, map[string]dbus.Variant{"uris": dbus.MakeVariant(f.uris)})
	return path, nil
}

func TestPortalChoosesFiles(t *testing.T) {
	addr := privateBus(t)
	srv := busConn(t, addr)
	fake := &fakePortal{conn: srv, uris: []string{"file:///home/w/a%20b.pdf", "file:///home/w/c.txt"}}
	if err := srv.Export(fake, portalPath, portalChooser); err != nil {
		t.Fatal(err)
	}
	if r, err := srv.RequestName(portalName, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatal(r, err)
	}
	p := &chooserPortal{conn: busConn(t, addr)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := p.open(ctx, chooseOptions{title: "Send files", multiple: true})
	if err != nil || strings.Join(got, "|") != "/home/w/a b.pdf|/home/w/c.txt" {
		t.Fatalf("got %q, %v", got, err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.title != "Send files" || fake.opts["multiple"].Value() != true || fake.opts["directory"].Value() != false {
		t.Fatalf("asked %q %v", fake.title, fake.opts)
	}
	fake.code = 1 // the person cancelled
	fake.mu.Unlock()
	got, err = p.open(ctx, chooseOptions{title: "Send folder", directory: true})
	fake.mu.Lock()
	if err != nil || got != nil || fake.opts["directory"].Value() != true {
		t.Fatalf("cancelled: %q, %v, asked %v", got, err, fake.opts)
	}
}

// With a bus but no portal on it, open says so, for the caller to fall back to Fyne's dialogs.
func TestPortalAbsent(t *testing.T) {
	p := &chooserPortal{conn: busConn(t, privateBus(t))}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.open(ctx, chooseOptions{title: "x"}); !errors.Is(err, ErrNoPortal) {
		t.Fatalf("no portal: %v", err)
	}
}

// fakeChooser stands in for the desktop portal: it records what it was asked and answers
// paths or err.
type fakeChooser struct {
	mu    sync.Mutex
	asked []chooseOptions
	paths []string
	err   error
}

func (f *fakeChooser) choose(_ context.Context, o chooseOptions) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, o)
	return f.paths, f.err
}

// Save as asks the desktop's chooser for a folder, titled Save as, and accepts the offer
// into the folder chosen; without a portal it opens Fyne's folder dialog, titled so too.
func TestSaveAsUsesTheDesktopChooserElseFyne(t *testing.T) {
	u, core := newTestUI(t, "en")
	fc := &fakeChooser{paths: []string{"/home/w/Reports"}}
	u.chooser = fc
	u.HandleEvent(online("b", "Bob", "R&D", bobAddr))
	offer := xfer.Transfer{ID: 7, Direction: event.In, State: xfer.StateOffered, PeerID: "b", Nick: "Bob", Addr: bobAddr,
		Files: []xfer.TransferFile{{FileInfo: ipmsg.FileInfo{Name: "r.xlsx", Size: 1, Attr: ipmsg.FileRegular}}}}
	u.HandleEvent(lan.Event{Type: event.TransferOffered, Transfer: &offer})
	test.Tap(u.offers[7].saveAs)
	u.settle()
	if len(fc.asked) != 1 || fc.asked[0] != (chooseOptions{title: "Save as", directory: true}) {
		t.Fatalf("asked %+v", fc.asked)
	}
	if len(core.acceptedDirs) != 1 || core.acceptedDirs[0] != "/home/w/Reports" {
		t.Fatalf("accepted into %q", core.acceptedDirs)
	}
	if top := u.Win.Canvas().Overlays().Top(); top != nil {
		t.Fatalf("a Fyne dialog besides the desktop's: %q", deepTexts(top))
	}

	fc.err = ErrNoPortal
	test.Tap(u.offers[7].saveAs)
	u.settle()
	top := u.Win.Canvas().Overlays().Top()
	if top == nil || !slices.Contains(deepTexts(top), "Save as") {
		t.Fatalf("no Fyne folder dialog titled Save as without a portal")
	}
}

// Without a session bus the desktop's chooser reports no portal (the window falls back).
func TestSessionPortalWithoutABus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+t.TempDir()+"/none")
	if _, err := (&sessionPortal{}).choose(context.Background(), chooseOptions{}); !errors.Is(err, ErrNoPortal) {
		t.Fatalf("no bus: %v", err)
	}
}

// Send file asks the desktop's chooser for several files, Send folder for a folder; the
// paths chosen are sent; without a portal Fyne's dialogs open, titled as the button says.
func TestSendFilesAndFolderUseTheDesktopChooser(t *testing.T) {
	u, core := newTestUI(t, "en")
	fc := &fakeChooser{paths: []string{"/home/w/a.pdf", "/home/w/b.pdf"}}
	u.chooser = fc
	u.HandleEvent(online("b", "Bob", "R&D", bobAddr))
	c := u.openConv(whoPeer(u.peers["b"]), true)
	test.Tap(findButton(c.tab.Content, "Send file…"))
	u.settle()
	fc.paths = []string{"/home/w/Reports"}
	test.Tap(findButton(c.tab.Content, "Send folder…"))
	u.settle()
	if len(fc.asked) != 2 || fc.asked[0] != (chooseOptions{title: "Send files", multiple: true}) ||
		fc.asked[1] != (chooseOptions{title: "Send folder", directory: true}) {
		t.Fatalf("asked %+v", fc.asked)
	}
	core.mu.Lock()
	got := fmt.Sprint(core.files)
	core.mu.Unlock()
	if got != "[[/home/w/a.pdf /home/w/b.pdf] [/home/w/Reports]]" {
		t.Fatalf("sent %s", got)
	}
	fc.err = ErrNoPortal
	test.Tap(findButton(c.tab.Content, "Send folder…"))
	u.settle()
	if top := u.Win.Canvas().Overlays().Top(); top == nil || !slices.Contains(deepTexts(top), "Send folder") {
		t.Fatal("no Fyne folder dialog titled Send folder without a portal")
	}
}
