package ipmsg

import "strings"

// FeiQText cleans a message from FeiQ: a text that is one of its control strings
// (`/~#>…<B~`) is not for people and comes back with show false; a `{…}` font/format block
// FeiQ appends to the text is removed. Only a block at the very end, on the last line and
// shaped like FeiQ's (it holds ';' or starts with '/'), is taken as one, so a message that
// merely ends in braces keeps them.
func FeiQText(text string) (clean string, show bool) {
	if strings.HasPrefix(text, "/~#>") && strings.Contains(text, "<B~") {
		return "", false
	}
	if strings.HasSuffix(text, "}") {
		if i := strings.LastIndexByte(text, '{'); i >= 0 {
			block := text[i+1 : len(text)-1]
			if !strings.ContainsAny(block, "\n{}") && (strings.Contains(block, ";") || strings.HasPrefix(block, "/")) {
				text = text[:i]
			}
		}
	}
	return text, true
}
