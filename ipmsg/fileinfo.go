package ipmsg

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// File attribute types: the low byte of an IPMsg file attr field.
const (
	FileRegular   = 0x1
	FileDir       = 0x2
	FileRetParent = 0x3
	// FileClipboard is an image embedded in the message (IP Messenger's pasted pictures):
	// fetched with GETFILEDATA like a file, shown inline at its position in the text, which
	// the entry carries as the extended attribute FileClipboardPos ("8=pos", hex).
	FileClipboard = 0x20
)

// FileClipboardPos is the extended file attribute holding a clipboard image's position.
const FileClipboardPos = 0x8

// MaxClipPos bounds a clipboard image's position (characters into the text): a message
// holds at most 64 KiB.
const MaxClipPos = 1 << 20

// FeiGo's extra request fields. Legacy clients never send them, and a legacy sender never
// sees them (they go only to FeiGo peers).
//
// fgMarker asks a FeiGo sender to follow each file's content with its SHA-256 and to wait for
// the receiver's verdict. fgVerdict asks for the verdict only: over a TLS channel, whose AEAD
// already authenticates every byte, the checksum would only cost time. fgToken carries the
// per-offer, per-recipient token the offer gave the recipient (inside the channel only).
// fgSkip resumes a folder (GETDIRFILES): the receiver holds the first Skip bytes of the
// files' content in the stream's order (see xfer's sendDir), asked only of a FeiGo sender
// that announced it can (xfer.CapDirResume).
const (
	fgMarker  = "fgsum1"
	fgVerdict = "fgok1"
	fgToken   = "fgtk1="
	fgSkip    = "fgskip1="
)

// MaxTokenLen bounds an offer token, in characters (hex digits).
const MaxTokenLen = 64

// validToken reports whether s is a token as FeiGo writes them: hex digits, bounded.
func validToken(s string) bool {
	if s == "" || len(s) > MaxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdef", rune(s[i])) {
			return false
		}
	}
	return true
}

// AppendOfferToken adds the recipient's token to an offer body (`text\0files\0`) as a
// section of its own after the file list: `fgtk1=HEX\0`. Only offers that go to a FeiGo peer
// over its encrypted channel carry one; parsers of the file list skip it.
func AppendOfferToken(body []byte, token string) []byte {
	return append(append(body, fgToken+token...), 0)
}

// OfferToken returns the token an offer body carries after its file list, or "".
func OfferToken(body []byte) string {
	secs := bytes.Split(body, []byte{0})
	if len(secs) < 3 {
		return ""
	}
	for _, s := range secs[2:] {
		if t, ok := bytes.CutPrefix(s, []byte(fgToken)); ok && validToken(string(t)) {
			return string(t)
		}
	}
	return ""
}

// CutOfferToken returns the body without the token section (what ParseFileList reads).
func CutOfferToken(body []byte) []byte {
	i := bytes.Index(body, []byte("\x00"+fgToken))
	if i < 0 {
		return body
	}
	return body[:i+1]
}

// FileInfo is one entry of a file offer: a file, or a folder fetched with GETDIRFILES.
type FileInfo struct {
	ID    uint32 `json:"id"`
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime"` // Unix seconds
	Attr  uint32 `json:"attr"`
	// Pos is a clipboard image's position in the message text (see ClipPos), meaningful
	// only when IsClip.
	Pos int `json:"pos,omitempty"`
}

// IsClip reports whether the entry is an image embedded in the message (FileClipboard).
func (f FileInfo) IsClip() bool { return f.Attr&0xff == FileClipboard }

// IsDir reports whether the entry is a folder.
func (f FileInfo) IsDir() bool { return f.Attr&0xff == FileDir }

// escapeName doubles ':' as IPMsg does; for iptux, which rejects any name holding ':', the
// colon becomes '_' instead.
func escapeName(name string, iptux bool) string {
	name = strings.ReplaceAll(OneLine(name), "\a", "_")
	if iptux {
		return strings.ReplaceAll(name, ":", "_")
	}
	return strings.ReplaceAll(name, ":", "::")
}

// EncodeFileList writes the file part of an offer: `id:name:size:mtime:attr:` entries, each
// followed by '\a', with the id decimal and the rest hex, as IPMsg writes them. Only the type
// bits of attr are sent, since iptux rejects any other bit.
func EncodeFileList(cs Charset, files []FileInfo, iptux bool) []byte {
	var b bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&b, "%d:", f.ID)
		b.Write(cs.Encode(escapeName(f.Name, iptux)))
		fmt.Fprintf(&b, ":%x:%x:%x:", max(f.Size, 0), max(f.MTime, 0), f.Attr&0xff)
		if f.IsClip() {
			fmt.Fprintf(&b, "%x=%x:", FileClipboardPos, min(max(f.Pos, 0), MaxClipPos))
		}
		b.WriteByte('\a')
	}
	return b.Bytes()
}

// splitEscaped splits s at single ':' and turns each "::" into ':'.
func splitEscaped(s []byte) [][]byte {
	var out [][]byte
	var cur []byte
	for i := 0; i < len(s); i++ {
		if s[i] != ':' {
			cur = append(cur, s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == ':' {
			cur = append(cur, ':')
			i++
			continue
		}
		out = append(out, cur)
		cur = nil
	}
	return append(out, cur)
}

// ParseFileList reads the file part of an offer. Entries that do not parse are skipped
// (unlike iptux, which stops at the first); every separator real clients write is accepted.
func ParseFileList(b []byte, cs Charset) []FileInfo {
	var out []FileInfo
	for _, ent := range bytes.Split(b, []byte{'\a'}) {
		ent = bytes.TrimLeft(ent, ":\x00")
		if len(bytes.TrimSpace(ent)) == 0 {
			continue
		}
		f := splitEscaped(ent)
		if len(f) < 5 {
			continue
		}
		id, err := strconv.ParseUint(string(f[0]), 10, 32)
		if err != nil {
			if id, err = strconv.ParseUint(string(f[0]), 16, 32); err != nil {
				continue
			}
		}
		size, err1 := strconv.ParseInt(string(f[2]), 16, 64)
		mtime, err2 := strconv.ParseInt(string(f[3]), 16, 64)
		attr, err3 := strconv.ParseUint(string(f[4]), 16, 32)
		if err1 != nil || size < 0 || err3 != nil || len(f[1]) == 0 {
			continue
		}
		if err2 != nil {
			mtime = 0
		}
		fi := FileInfo{ID: uint32(id), Name: cs.Decode(f[1]), Size: size, MTime: mtime, Attr: uint32(attr)}
		switch attr & 0xff {
		case FileRegular, FileDir:
		case FileClipboard:
			fi.Pos = clipPos(f[5:])
		default:
			continue // symbolic links, devices and the like: not files we can fetch
		}
		out = append(out, fi)
	}
	return out
}

// clipPos reads the position among an entry's extended attributes ("8=pos", hex, as IP
// Messenger writes it); 0 when absent or malformed, at most MaxClipPos.
func clipPos(ext [][]byte) int {
	for _, x := range ext {
		k, v, ok := bytes.Cut(x, []byte("="))
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(string(k), 16, 32); err != nil || n != FileClipboardPos {
			continue
		}
		p, err := strconv.ParseUint(string(v), 16, 32)
		if err != nil {
			return 0
		}
		return int(min(p, MaxClipPos))
	}
	return 0
}

// FileRequest is a GETFILEDATA or GETDIRFILES request's body.
type FileRequest struct {
	PacketNo uint32
	FileID   uint32
	Offset   int64
	// FeiGo: a FeiGo receiver that answers with a verdict (fgMarker or fgVerdict). NoSum:
	// it asked for no SHA-256 trailers (fgVerdict), as over a TLS channel.
	FeiGo, NoSum bool
	// Token is the offer's token for this recipient (FeiGo over TLS), "" when absent.
	Token string
	// Skip (FeiGo, GETDIRFILES): the content bytes of the folder the receiver holds already.
	Skip int64
}

// ParseFileRequest reads `packetID:fileID[:offset]` in hex, with the extra fields real
// clients append (IPMsg a trailing ':', iptux ":0").
func ParseFileRequest(body []byte, withOffset bool) (FileRequest, error) {
	f := strings.Split(string(FirstSection(body)), ":")
	if len(f) < 2 {
		return FileRequest{}, errors.New("request has fewer than 2 fields")
	}
	pkt, err := strconv.ParseUint(f[0], 16, 32)
	if err != nil {
		return FileRequest{}, fmt.Errorf("packet ID %q", f[0])
	}
	fid, err := strconv.ParseUint(f[1], 16, 32)
	if err != nil {
		return FileRequest{}, fmt.Errorf("file ID %q", f[1])
	}
	r := FileRequest{PacketNo: uint32(pkt), FileID: uint32(fid)}
	if withOffset && len(f) > 2 && f[2] != "" {
		off, err := strconv.ParseInt(f[2], 16, 64)
		if err != nil || off < 0 {
			return FileRequest{}, fmt.Errorf("offset %q", f[2])
		}
		r.Offset = off
	}
	for _, x := range f[2:] {
		switch {
		case x == fgMarker:
			r.FeiGo = true
		case x == fgVerdict:
			r.FeiGo, r.NoSum = true, true
		case strings.HasPrefix(x, fgToken) && validToken(x[len(fgToken):]):
			r.Token = x[len(fgToken):]
		case strings.HasPrefix(x, fgSkip) && len(x) <= len(fgSkip)+16:
			if n, err := strconv.ParseInt(x[len(fgSkip):], 16, 64); err == nil && n >= 0 {
				r.Skip = n
			}
		}
	}
	return r, nil
}

// EncodeFileRequest writes a request body. A FeiGo peer gets the marker; others get exactly
// what IPMsg sends.
func EncodeFileRequest(r FileRequest, withOffset bool) []byte {
	s := fmt.Sprintf("%x:%x", r.PacketNo, r.FileID)
	if withOffset {
		s += fmt.Sprintf(":%x", r.Offset)
	}
	switch {
	case r.FeiGo && r.NoSum:
		s += ":" + fgVerdict
	case r.FeiGo:
		s += ":" + fgMarker
	}
	if validToken(r.Token) {
		s += ":" + fgToken + r.Token
	}
	if r.FeiGo && r.Skip > 0 {
		s += fmt.Sprintf(":%s%x", fgSkip, r.Skip)
	}
	return append([]byte(s+":"), 0)
}

// DirHeader is one record header of a GETDIRFILES stream.
type DirHeader struct {
	Name  string
	Size  int64
	Attr  uint32
	MTime int64 // 0 when absent
}

// MaxDirHeader bounds a record header; real ones are under 300 bytes.
const MaxDirHeader = 0x1000

// EncodeDirHeader writes `HHHH:name:size:attr:14=mtime:16=mtime:`, HHHH being the header's
// own length in hex, as IPMsg and iptux write it.
func EncodeDirHeader(cs Charset, h DirHeader, iptux bool) ([]byte, error) {
	rest := fmt.Sprintf(":%s:%09x:%x:14=%x:16=%x:", cs.Encode(escapeName(h.Name, iptux)), max(h.Size, 0), h.Attr, max(h.MTime, 0), max(h.MTime, 0))
	n := 4 + len(rest)
	if n > MaxDirHeader-1 {
		return nil, fmt.Errorf("file name too long for a folder record: %q", h.Name)
	}
	return []byte(fmt.Sprintf("%04x%s", n, rest)), nil
}

// ParseDirHeader reads a header whose 4 hex digits have been checked; b is the whole header.
func ParseDirHeader(b []byte, cs Charset) (DirHeader, error) {
	if len(b) < 6 || b[len(b)-1] != ':' {
		return DirHeader{}, errors.New("header does not end with ':'")
	}
	f := splitEscaped(b[5 : len(b)-1]) // after "HHHH:", before the final ':'
	if len(f) < 3 {
		return DirHeader{}, fmt.Errorf("header has %d fields", len(f))
	}
	size, err := strconv.ParseInt(string(f[1]), 16, 64)
	if err != nil || size < 0 {
		return DirHeader{}, fmt.Errorf("size %q", Clip(f[1]))
	}
	attr, err := strconv.ParseUint(string(f[2]), 16, 32)
	if err != nil {
		return DirHeader{}, fmt.Errorf("attr %q", Clip(f[2]))
	}
	h := DirHeader{Name: cs.Decode(f[0]), Size: size, Attr: uint32(attr)}
	for _, ext := range f[3:] {
		k, v, ok := strings.Cut(string(ext), "=")
		if ok && k == "14" {
			if t, err := strconv.ParseInt(v, 16, 64); err == nil {
				h.MTime = t
			}
		}
	}
	return h, nil
}
