package tail

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean returns s as plain text for a terminal: invalid UTF-8 becomes
// U+FFFD, escape sequences (ESC or C1 introduced: CSI, OSC, DCS, …) are
// removed whole, line breaks and tabs become spaces, and any other control
// character is dropped.
func Clean(s string) string {
	if isPlain(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == 0x1b: // ESC
			i = skipEscape(s, i)
		case r == 0x9b: // CSI
			i = skipCSI(s, i)
		case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // DCS, SOS, OSC, PM, APC
			i = skipString(s, i)
		case r == '\n' || r == '\r' || r == '\t' || r == '\v' || r == '\f':
			b.WriteByte(' ')
		case unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isPlain reports whether s is valid UTF-8 without control characters.
func isPlain(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// skipEscape skips what follows an ESC at i: a whole CSI or string
// sequence, or the one character of a short escape.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '[':
		return skipCSI(s, i+1)
	case ']', 'P', 'X', '^', '_':
		return skipString(s, i+1)
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return i + n
}

// skipCSI skips parameter and intermediate bytes up to and including the
// final byte (0x40-0x7E); anything else ends the sequence early.
func skipCSI(s string, i int) int {
	for i < len(s) {
		c := s[i]
		i++
		if c >= 0x40 && c <= 0x7e {
			return i
		}
		if c < 0x20 || c > 0x3f {
			return i
		}
	}
	return i
}

// skipString skips an OSC, DCS, SOS, PM or APC body up to its terminator:
// BEL, ESC \ or the C1 ST; an unterminated one runs to the end.
func skipString(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x07 || r == 0x9c:
			return i + n
		case r == 0x1b:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i + 1
		}
		i += n
	}
	return i
}
