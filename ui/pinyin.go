package ui

import (
	"strings"
	"unicode"

	"github.com/mozillazg/go-pinyin"
)

// spelled is a name as the colleagues' search matches it by pinyin: each character's
// readings (every reading of a hanzi with several, without tones; any other character
// lowercased, as itself).
type spelled [][]string

var pinyinArgs = func() pinyin.Args {
	a := pinyin.NewArgs()
	a.Heteronym = true
	a.Fallback = func(r rune, _ pinyin.Args) []string { return []string{string(unicode.ToLower(r))} }
	return a
}()

// spell reads name once (when the colleague's name is seen), so that a search does not look
// characters up per keystroke.
func spell(name string) spelled {
	s := make(spelled, 0, len(name))
	for _, r := range []rune(name) {
		if unicode.Is(unicode.Han, r) {
			if ps := pinyin.SinglePinyin(r, pinyinArgs); len(ps) > 0 {
				s = append(s, ps)
				continue
			}
		}
		s = append(s, []string{string(unicode.ToLower(r))})
	}
	return s
}

// matches reports whether q, lowercase letters, spells a run of consecutive characters of
// the name, each by the start of one of its readings: "li", "lilei", "ll" and "lil" all find
// 李雷. It walks the name once, keeping the places in q that the characters so far reach.
func (s spelled) matches(q string) bool {
	if q == "" || strings.IndexFunc(q, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
		return false
	}
	at := make([]bool, len(q)+1) // at[i]: q[:i] is spelled by the characters up to here
	next := make([]bool, len(q)+1)
	for _, readings := range s {
		clear(next)
		at[0] = true // a run may start at this character
		for i := 0; i < len(q); i++ {
			if !at[i] {
				continue
			}
			for _, r := range readings {
				for n := 1; n <= len(r) && i+n <= len(q) && q[i+n-1] == r[n-1]; n++ {
					if i+n == len(q) {
						return true
					}
					next[i+n] = true
				}
			}
		}
		at, next = next, at
	}
	return false
}
