package packaging

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strings"

	"golang.org/x/image/draw"
)

// DesktopEntry is the freedesktop.org desktop entry that starts FeiGo with exec (a command
// or an absolute path), for the menu and, with AutostartKey, for the autostart folder.
func DesktopEntry(exec string) string {
	return fmt.Sprintf(`[Desktop Entry]
Type=Application
Name=FeiGo
GenericName=LAN Messenger
GenericName[zh_CN]=局域网通讯
Comment=Message colleagues and send files on the LAN (IP Messenger, FeiQ, iptux compatible)
Comment[zh_CN]=在局域网内与同事收发消息和文件（兼容飞秋、IP Messenger、iptux）
Exec=%s
Icon=%s
Terminal=false
Categories=Network;InstantMessaging;
Keywords=IPMsg;FeiQ;iptux;LAN;chat;messenger;飞秋;
StartupWMClass=FeiGo
`, exec, AppID)
}

// Metainfo is the AppStream metainfo file (usr/share/metainfo), which software centres read.
func Metainfo(version, date string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<component type="desktop-application">
  <id>%[1]s</id>
  <metadata_license>CC0-1.0</metadata_license>
  <name>FeiGo</name>
  <summary>Message colleagues and send files on the LAN</summary>
  <summary xml:lang="zh_CN">在局域网内与同事收发消息和文件</summary>
  <description>
    <p>
      FeiGo is a LAN messenger in the style of FeiQ: colleagues on the same network see
      each other and exchange messages and files with no server and no account.
    </p>
    <p>
      It speaks the IP Messenger protocol on port 2425, so it talks to IP Messenger, FeiQ
      and iptux, in their text encodings. Between FeiGo colleagues messages and files are
      end-to-end encrypted, and every message is kept in a searchable history.
    </p>
  </description>
  <launchable type="desktop-id">%[1]s.desktop</launchable>
  <provides>
    <binary>feigo</binary>
  </provides>
  <categories>
    <category>Network</category>
    <category>InstantMessaging</category>
  </categories>
  <content_rating type="oars-1.1">
    <content_attribute id="social-chat">intense</content_attribute>
  </content_rating>
  <releases>
    <release version="%[2]s" date="%[3]s"/>
  </releases>
</component>
`, AppID, version, date)
}

// ManPage is feigo(1): what the program is, and the commands as `feigo help` lists them.
func ManPage(version, date, help string) string {
	esc := func(s string) string {
		s = strings.ReplaceAll(s, `\`, `\e`)
		s = strings.ReplaceAll(s, "-", `\-`)
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
				l = `\&` + l
			}
			lines = append(lines, l)
		}
		return strings.Join(lines, "\n")
	}
	return fmt.Sprintf(`.TH FEIGO 1 %q "FeiGo %s" "User Commands"
.SH NAME
feigo \- LAN messenger speaking the IP Messenger protocol (FeiQ, iptux)
.SH SYNOPSIS
.B feigo
[\fB\-\-profile\fR \fIDIR\fR] [\fICOMMAND\fR [\fIflags\fR] [\fIargs\fR]]
.SH DESCRIPTION
With no command, \fBfeigo\fR opens the desktop window: colleagues on the same network,
conversations, file transfers and the history. With a command it runs the command line,
which talks to the running FeiGo (window or \fBfeigo serve\fR) through a control socket in
the profile directory (\fI~/.config/feigo\fR, \fB\-\-profile\fR \fIDIR\fR or
\fBFEIGO_PROFILE\fR).
.SH COMMANDS
.nf
%s
.fi
.SH FILES
.TP
.I ~/.config/feigo/
the profile: settings.json, the history database, keys, the control socket.
.TP
.I ~/.config/autostart/feigo.desktop
written when FeiGo is set to start at login (\fBfeigo autostart on\fR).
`, date, version, esc(strings.TrimSpace(help)))
}

// copyright is usr/share/doc/feigo/copyright. The repository has no licence file yet; this
// says so rather than invent one.
const copyright = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: FeiGo

Files: *
Copyright: 2026 the FeiGo authors
License: none-yet
 The FeiGo repository does not state a licence yet. Go modules linked into the
 binary keep their own licences (Fyne: BSD-3-Clause; golang.org/x: BSD-3-Clause;
 modernc.org/sqlite: BSD-3-Clause; github.com/google/uuid: BSD-3-Clause).
`

// Icons scales the PNG src to each size (Catmull-Rom, alpha kept) and returns the PNGs.
func Icons(src []byte, sizes []int) (map[int][]byte, error) {
	img, err := png.Decode(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("packaging: the icon: %w", err)
	}
	out := make(map[int][]byte, len(sizes))
	for _, s := range sizes {
		if s <= 0 || s > 4096 {
			return nil, fmt.Errorf("packaging: icon size %d", s)
		}
		if b := img.Bounds(); b.Dx() == s && b.Dy() == s {
			out[s] = src
			continue
		}
		dst := image.NewNRGBA(image.Rect(0, 0, s, s))
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
		var b bytes.Buffer
		if err := png.Encode(&b, dst); err != nil {
			return nil, err
		}
		out[s] = b.Bytes()
	}
	return out, nil
}
