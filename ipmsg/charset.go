package ipmsg

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Charset is the text encoding a peer's strings (user, host, nick, group, message) use.
type Charset uint8

const (
	// UTF8 is what FeiGo, iptux and IPMsg (with UTF8OPT) speak.
	UTF8 Charset = iota
	// GBK is FeiQ's and Chinese IPMsg's code page; decoding accepts all of GB18030.
	GBK
	// CP932 is Japanese IPMsg's code page (Shift_JIS with Microsoft's extensions).
	CP932
)

func (c Charset) String() string {
	switch c {
	case GBK:
		return "gbk"
	case CP932:
		return "cp932"
	default:
		return "utf-8"
	}
}

// ParseCharset accepts the names users type and iptux announces ("utf-8", "gb18030", "gbk",
// "cp936", "cp932", "shift_jis", …), case-insensitively.
func ParseCharset(s string) (Charset, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "utf-8", "utf8":
		return UTF8, nil
	case "gbk", "gb2312", "gb18030", "cp936", "euc-cn":
		return GBK, nil
	case "cp932", "shift_jis", "shift-jis", "sjis", "windows-31j", "ms932":
		return CP932, nil
	}
	return UTF8, fmt.Errorf("unknown text encoding %q (want utf-8, gbk or cp932)", s)
}

func (c Charset) codec() encoding.Encoding {
	switch c {
	case GBK:
		return simplifiedchinese.GB18030
	case CP932:
		return japanese.ShiftJIS
	}
	return nil
}

// Decode turns b into a string. Bytes that are invalid in c become U+FFFD; it never fails.
func (c Charset) Decode(b []byte) string {
	if c == UTF8 {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	s, err := c.codec().NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(s)
}

// Encode turns s into c's bytes. Characters c cannot represent become '?', so a message is
// never refused for one emoji sent to a GBK client.
func (c Charset) Encode(s string) []byte {
	var enc encoding.Encoding
	switch c {
	case UTF8:
		return []byte(s)
	case GBK:
		enc = simplifiedchinese.GBK // FeiQ and IPMsg read GBK, not GB18030's 4-byte forms
	default:
		enc = c.codec()
	}
	if b, err := enc.NewEncoder().Bytes([]byte(s)); err == nil {
		return b
	}
	out := make([]byte, 0, len(s)*2)
	e := enc.NewEncoder()
	for _, r := range s {
		b, err := e.Bytes([]byte(string(r)))
		if err != nil {
			b = []byte{'?'}
		}
		out = append(out, b...)
	}
	return out
}

// GuessCharset is the last resort for a sender we know nothing about: valid UTF-8 is taken
// as UTF-8, anything else as the configured legacy code page.
func GuessCharset(legacy Charset, parts ...[]byte) Charset {
	for _, p := range parts {
		if !utf8.Valid(p) {
			return legacy
		}
	}
	return UTF8
}
