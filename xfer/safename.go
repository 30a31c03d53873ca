package xfer

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes is the longest file name component Linux file systems take.
const maxNameBytes = 255

// PartSuffix marks a file or folder still being received.
const PartSuffix = ".feigo-part"

// safeName turns a name a peer sent into one path component that is safe to create in the
// download folder on any desktop: no separators, no NUL or control characters, not "." or
// "..", not a Windows device name, no trailing dots or spaces, at most 255 bytes with room for
// a clash suffix (see candidate) and the partial suffix. It returns an error only when
// nothing usable is left.
func safeName(name string) (string, error) {
	name = strings.ToValidUTF8(name, "_")
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '/' || r == '\\':
			b.WriteRune('_')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError:
			b.WriteRune('_')
		case unicode.Is(unicode.Bidi_Control, r):
			b.WriteRune('_') // right-to-left overrides that disguise an extension
		case r == '<' || r == '>' || r == '"' || r == '|' || r == '?' || r == '*' || r == ':':
			b.WriteRune('_') // not allowed on Windows desktops the folder may be shared with
		default:
			b.WriteRune(r)
		}
	}
	s := strings.TrimRight(strings.TrimSpace(b.String()), ". ")
	if s == "" || strings.Trim(s, ".") == "" {
		return "", fmt.Errorf("unusable file name %q", clipString(name))
	}
	base := s
	if i := strings.IndexByte(s, '.'); i > 0 {
		base = s[:i]
	}
	if reservedName(base) {
		s = "_" + s
	}
	limit := maxNameBytes - len(PartSuffix) - maxClashSuffix
	if len(s) > limit {
		ext := path.Ext(s)
		if len(ext) > 16 || strings.ContainsRune(ext, ' ') {
			ext = ""
		}
		stem := s[:len(s)-len(ext)]
		cut := limit - len(ext)
		for cut > 0 && !utf8.RuneStart(stem[cut]) {
			cut--
		}
		s = stem[:cut] + ext
	}
	return s, nil
}

// reservedName reports Windows device names (CON, NUL, COM1…), which must not become files
// in a folder that Windows machines may open.
func reservedName(base string) bool {
	switch strings.ToUpper(base) {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	u := strings.ToUpper(base)
	if len(u) == 4 && (strings.HasPrefix(u, "COM") || strings.HasPrefix(u, "LPT")) && u[3] >= '1' && u[3] <= '9' {
		return true
	}
	return false
}

// Name clashes: the first tries count up ("a (1).txt" … "a (9).txt", as people expect); after
// that a random suffix ("a (3f9c0a1e).txt") finds a free name in a try or two however many
// files of that name exist, so a stream of thousands of entries of one name costs a few
// tries each instead of one per earlier entry.
const (
	numberedTries  = 10
	maxNameTries   = numberedTries + 16
	maxClashSuffix = len(" (12345678)")
)

// candidate returns the k-th name to try for base: base itself, then numbered, then random,
// drawn from rnd when given (see clashNames).
func candidate(base string, k int, rnd *rand.Rand) string {
	if k < numberedTries {
		return numbered(base, k)
	}
	var u uint32
	if rnd != nil {
		u = rnd.Uint32()
	} else {
		u = rand.Uint32()
	}
	return withSuffix(base, fmt.Sprintf("%08x", u))
}

// clashNames is where the random names of one folder download's clashes come from: the
// same for each attempt at it, so that a resumed attempt, drawing as the interrupted one did
// (claim, makeEntry), finds the names that one gave. They only need to spread, not to be
// secret: the sender, who could predict them, chooses the names that clash anyway.
func clashNames(packetNo, fileID uint32, part string) *rand.Rand {
	d := sha256.Sum256(fmt.Appendf(nil, "feigo clash names\x00%d\x00%d\x00%s", packetNo, fileID, part))
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(d[:8]), binary.LittleEndian.Uint64(d[8:16])))
}

// numbered returns "name (n).ext" for n > 0: the name to try when name is taken.
func numbered(name string, n int) string {
	if n == 0 {
		return name
	}
	return withSuffix(name, fmt.Sprint(n))
}

// withSuffix returns "name (s).ext".
func withSuffix(name, s string) string {
	ext := path.Ext(name)
	if ext == name || len(ext) > 16 {
		ext = ""
	}
	return fmt.Sprintf("%s (%s)%s", strings.TrimSuffix(name, ext), s, ext)
}

func clipString(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
