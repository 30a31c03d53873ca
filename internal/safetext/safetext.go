// Package safetext makes text a peer chose (a nickname, a message, a file name) safe to show:
// on a terminal (the CLI) or in the window, every character that would act instead of being
// seen, or reorder what follows it, is written out visibly.
package safetext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Printable returns s, which a peer may have chosen (a nickname, a message, a file name, an
// error that quotes one), fit to print on a terminal: every character that a terminal acts
// on instead of showing is written out visibly, so a colleague cannot retitle the
// terminal, write the clipboard (OSC 52), clear the screen, hide or reorder text.
//
//   - C0 controls and DEL: \t, \n, \r, else \x1b-style. Tabs too, as they break the
//     tabwriter's columns; newlines too, as a line of its own could pass for one of ours
//     (IndentedLines keeps a message's lines, indented).
//   - C1 controls (U+0080–U+009F) and the bidi controls that reorder what follows them
//     (U+200E, U+200F, U+061C, U+202A–U+202E, U+2066–U+2069): \u202e-style.
//   - bytes that are not UTF-8 (a terminal may take 0x9B for a C1 CSI): \xff-style.
//
// Everything else, backslashes included, is left as it is: a name with a literal `\x1b` in
// it looks like an escaped one, but neither does anything. The --json output never goes
// through Printable: JSON escapes control characters itself and scripts get the exact text.
func Printable(s string) string { return escape(s, false) }

// Lines is Printable for a text shown on several lines in the window (a message): its line
// breaks stay as they are.
func Lines(s string) string { return escape(s, true) }

func escape(s string, keepNewlines bool) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafeForTerminal(r, n) && !(keepNewlines && r == '\n') {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // the common case: nothing to escape, nothing allocated
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !unsafeForTerminal(r, n), keepNewlines && r == '\n':
			b.WriteString(s[i : i+n])
		case r == utf8.RuneError:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
}

// IndentedLines is Printable for a text shown on several lines on a terminal, such as a
// message in `feigo history`: its line breaks stay, and the lines after the first are
// indented so that none can pass for a record of its own.
func IndentedLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Printable(l)
	}
	return strings.Join(lines, "\n    ")
}

// unsafeForTerminal reports whether the rune r, n bytes long in its string, must be escaped.
func unsafeForTerminal(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1: // not UTF-8
		return true
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
