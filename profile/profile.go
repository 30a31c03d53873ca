// Package profile is FeiGo's per-user state on disk: the stable FeiGo ID, the settings the
// GUI and the CLI share, and the control socket of the node that runs with it. A profile is
// a directory only its owner can enter; two nodes with different profiles never collide.
package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// EnvVar names the environment variable that selects a profile directory.
const EnvVar = "FEIGO_PROFILE"

// Settings are the user's choices. Zero values mean "the default".
type Settings struct {
	Nick  string `json:"nick,omitempty"`
	Group string `json:"group,omitempty"`
	Port  int    `json:"port,omitempty"`
	// Interfaces limits announcements to these interface names; empty means all but the
	// virtual ones (containers, virtual machines, VPN tunnels), which VirtualInterfaces
	// brings back.
	Interfaces        []string `json:"interfaces,omitempty"`
	VirtualInterfaces bool     `json:"virtual_interfaces,omitempty"`
	// Broadcast are extra announce addresses: other subnets' broadcast addresses or hosts.
	Broadcast []string `json:"broadcast,omitempty"`
	// NoIPv6 keeps FeiGo on IPv4: no IPv6 socket, no IP Messenger IPv6 group (ff15::979), no
	// IPv6 colleagues. By default FeiGo uses IPv6 where the host has it.
	NoIPv6 bool `json:"no_ipv6,omitempty"`
	// LegacyEncoding is the code page of clients that do not say theirs: "gbk" or "cp932".
	LegacyEncoding string `json:"legacy_encoding,omitempty"`
	// NoHostList stops FeiGo from serving its list of colleagues to IP Messenger clients
	// that ask for it (BR_ISGETLIST2/GETLIST); by default it serves it, as an IP Messenger
	// that allows sending its host list does.
	NoHostList bool `json:"no_host_list,omitempty"`
	// NoPeerExchange stops FeiGo from trading lists of colleagues with FeiGo colleagues
	// on other subnets (which makes one address per remote subnet enough).
	NoPeerExchange bool `json:"no_peer_exchange,omitempty"`
	// ReachRanges are address ranges (CIDR) beyond the private and link-local ones where
	// colleagues learnt from other colleagues may be greeted (an office on public addresses).
	ReachRanges []string `json:"reach_ranges,omitempty"`
	// DownloadDir is where accepted files go unless the user picks another folder.
	DownloadDir string `json:"download_dir,omitempty"`

	// The desktop app's choices.
	// Language is "en", "zh" or "" (the system's).
	Language string `json:"language,omitempty"`
	// EnterMode is "enter" (Enter sends, Shift+Enter breaks the line; the default) or
	// "ctrl-enter" (Enter breaks the line, Ctrl+Enter sends, as in FeiQ).
	EnterMode string `json:"enter_mode,omitempty"`
	// AwayText is the automatic reply while away.
	AwayText string `json:"away_text,omitempty"`
	// AutoAccept lists nicknames or peer IDs whose file offers are accepted at once into
	// DownloadDir.
	AutoAccept []string `json:"auto_accept,omitempty"`
	// StartMinimised starts the app in the tray.
	StartMinimised bool `json:"start_minimised,omitempty"`
	// CloseQuits makes closing the window quit the app; by default, where the desktop shows
	// tray icons, closing it keeps FeiGo running in the tray (as FeiQ does).
	CloseQuits bool `json:"close_quits,omitempty"`
	// Autostart starts the desktop app at login (an XDG autostart entry on Linux, written
	// and removed by the app and `feigo autostart`).
	Autostart bool `json:"autostart,omitempty"`
	// ScreenshotKeepWindow keeps the window on the screen while a screenshot is taken; by
	// default it hides, so that the screenshot shows what is behind it.
	ScreenshotKeepWindow bool `json:"screenshot_keep_window,omitempty"`
	// NoScreenshotKey leaves Ctrl+Alt+A to other programs: by default FeiGo takes it on the
	// whole desktop (X11) for a screenshot into the conversation in front, as FeiQ does.
	NoScreenshotKey bool `json:"no_screenshot_key,omitempty"`
	// HistoryDays keeps the history for this many days; 0 keeps it forever.
	HistoryDays int `json:"history_days,omitempty"`
	// NoReadReceipts stops telling colleagues which of their messages were read (FeiGo asks
	// for it with every message); opening a sealed message still tells its sender.
	NoReadReceipts bool `json:"no_read_receipts,omitempty"`
	// Theme is the window's colours: "light", "dark" or "" (the desktop's setting, light
	// where it has none).
	Theme string `json:"theme,omitempty"`

	// Trust policy.
	// Encryption is "required" (the default: FeiGo colleagues are listed and spoken to only
	// over their encrypted, authenticated channel) or "preferred" (a FeiGo colleague whose
	// channel cannot be reached, a blocked TCP port, is listed and spoken to unencrypted).
	Encryption string `json:"encryption,omitempty"`
	// Legacy is what FeiGo does with clients that cannot encrypt (IP Messenger, FeiQ,
	// iptux): "allow" (the default), "ask" (the user allows each colleague before the first
	// message or file goes to them) or "refuse" (they are not listed nor answered).
	Legacy string `json:"legacy,omitempty"`
	// LegacyAllowed are the colleagues (peer IDs) the user allowed under "ask".
	LegacyAllowed []string `json:"legacy_allowed,omitempty"`
	// LegacyGroups is whether FeiQ's rooms and iptux's group chats are taken: "on", "off", or
	// "" (on, unless Legacy is "refuse"). They are unencrypted: anyone on the LAN can read
	// them, as in FeiQ and iptux.
	LegacyGroups string `json:"legacy_groups,omitempty"`
}

// The values of Settings.Encryption and Settings.Legacy.
const (
	EncryptionRequired  = "required"
	EncryptionPreferred = "preferred"
	LegacyAllow         = "allow"
	LegacyAsk           = "ask"
	LegacyRefuse        = "refuse"
)

// CheckPolicy reports a trust policy value that FeiGo does not know (a typo in the file).
func (s Settings) CheckPolicy() error {
	switch s.Encryption {
	case "", EncryptionRequired, EncryptionPreferred:
	default:
		return fmt.Errorf("settings: encryption %q: want %q or %q", s.Encryption, EncryptionRequired, EncryptionPreferred)
	}
	switch s.Legacy {
	case "", LegacyAllow, LegacyAsk, LegacyRefuse:
	default:
		return fmt.Errorf("settings: legacy %q: want %q, %q or %q", s.Legacy, LegacyAllow, LegacyAsk, LegacyRefuse)
	}
	return nil
}

// Profile is an opened profile directory.
type Profile struct {
	Dir string
	ID  string
	// Created is true when Open made the directory.
	Created bool
}

// DefaultDir is $FEIGO_PROFILE, else feigo/ under the user's config directory.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvVar); d != "" {
		return d, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the config directory (set %s): %w", EnvVar, err)
	}
	return filepath.Join(base, "feigo"), nil
}

// Open opens dir, creating it (mode 0700) and the FeiGo ID on first use. An empty dir means
// DefaultDir.
//
// The directory must be the current user's: one owned by another user, or holding an entry
// another user owns, is refused, since that user could have planted the ID, the settings or
// the transfers folder (whose offers FeiGo serves), or could swap the control socket. A directory
// of the user's own that others may enter is made owner-only (0700) and that is logged.
func Open(dir string) (*Profile, error) {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", dir, err)
	}
	_, statErr := os.Lstat(abs)
	created := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("creating profile %s: %w", abs, err)
	}
	if err := secure(abs); err != nil {
		return nil, err
	}
	p := &Profile{Dir: abs, Created: created}
	idFile := filepath.Join(abs, "id")
	b, err := os.ReadFile(idFile)
	switch {
	case err == nil:
		id, perr := uuid.ParseBytes([]byte(strings.TrimSpace(string(b))))
		if perr != nil {
			return nil, fmt.Errorf("profile %s: the id file is damaged (%v); remove it to get a new FeiGo ID", abs, perr)
		}
		p.ID = id.String()
	case errors.Is(err, os.ErrNotExist):
		p.ID = uuid.NewString()
		if err := writeAtomic(idFile, []byte(p.ID+"\n")); err != nil {
			return nil, fmt.Errorf("profile %s: saving the FeiGo ID: %w", abs, err)
		}
	default:
		return nil, fmt.Errorf("profile %s: %w", abs, err)
	}
	return p, nil
}

// Discard removes the profile directory again when Open created it and it holds nothing but
// the FeiGo ID: for a start that failed before using it (a busy port), which should leave no
// trace. A directory holding anything else is left as it is.
func (p *Profile) Discard() error {
	if !p.Created {
		return nil
	}
	es, err := os.ReadDir(p.Dir)
	if err != nil {
		return err
	}
	if len(es) > 1 || (len(es) == 1 && es[0].Name() != "id") {
		return nil
	}
	if len(es) == 1 {
		if err := os.Remove(filepath.Join(p.Dir, "id")); err != nil {
			return err
		}
	}
	return os.Remove(p.Dir) // fails, leaving it, if something appeared meanwhile
}

// SocketPath is where the node running with this profile listens for CLI commands.
func (p *Profile) SocketPath() string { return filepath.Join(p.Dir, "feigo.sock") }

func (p *Profile) settingsPath() string { return filepath.Join(p.Dir, "settings.json") }

// Load reads the settings; a profile without a settings file has the defaults.
func (p *Profile) Load() (Settings, error) {
	var s Settings
	b, err := os.ReadFile(p.settingsPath())
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("reading settings: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("settings file %s is damaged: %w", p.settingsPath(), err)
	}
	return s, nil
}

// Save writes the settings atomically.
func (p *Profile) Save(s Settings) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(p.settingsPath(), append(b, '\n')); err != nil {
		return fmt.Errorf("saving settings: %w", err)
	}
	return nil
}

// writeAtomic writes through a temporary file and a rename, so a crash leaves the old
// content or the new, never half of one.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// DefaultNames returns the login name and host name for packet headers, and a nickname.
func DefaultNames() (login, host string) {
	login = "user"
	if u, err := user.Current(); err == nil && u.Username != "" {
		login = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		login = v
	}
	host = "localhost"
	if h, err := os.Hostname(); err == nil && h != "" {
		host = h
	}
	return login, host
}
