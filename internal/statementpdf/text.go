package statementpdf

import (
	"strings"
	"unicode"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// The standard fonts print Windows-1252 (WinAnsiEncoding). A letter beyond
// it prints without its marks where its base letter is in it (Ọ → O,
// ṣ → s: Yoruba, Igbo and Hausa names stay readable), and as "?" where
// not. JSON and CSV statements carry every character exactly.

// winAnsi encodes s for a PDF string in the standard fonts.
func winAnsi(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range norm.NFC.String(s) {
		if b, ok := charmap.Windows1252.EncodeRune(r); ok && (b >= 0x20 || b == '\t') {
			out = append(out, b)
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue // a combining mark nothing precomposed could hold
		}
		base := '?'
		for _, d := range norm.NFD.String(string(r)) {
			if unicode.Is(unicode.Mn, d) {
				continue
			}
			if _, ok := charmap.Windows1252.EncodeRune(d); ok && d >= 0x20 {
				base = d
			}
			break
		}
		if unicode.IsControl(r) {
			base = ' '
		}
		b, _ := charmap.Windows1252.EncodeRune(base)
		out = append(out, b)
	}
	return out
}

// width is the width of encoded text in points at size in the font.
func width(text []byte, bold bool, size float64) float64 {
	widths := &helveticaWidths
	if bold {
		widths = &helveticaBoldWidths
	}
	var w int
	for _, b := range text {
		w += int(widths[b])
	}
	return float64(w) * size / 1000
}

// fit cuts encoded text to at most limit points, ending it with "..." when
// it had to be cut.
func fit(text []byte, bold bool, size, limit float64) []byte {
	if width(text, bold, size) <= limit {
		return text
	}
	ellipsis := width([]byte("..."), bold, size)
	for n := len(text) - 1; n > 0; n-- {
		if width(text[:n], bold, size)+ellipsis <= limit {
			return append(append([]byte{}, text[:n]...), "..."...)
		}
	}
	return []byte("...")
}

// pdfString writes encoded text as a PDF literal string: parentheses and
// backslashes escaped, bytes outside printable ASCII as octal escapes, so
// the file's text stays ASCII.
func pdfString(s string) string { return literal(winAnsi(s)) }

func literal(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + 2)
	sb.WriteByte('(')
	for _, c := range b {
		switch {
		case c == '(' || c == ')' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			sb.WriteByte('\\')
			sb.WriteByte('0' + c>>6)
			sb.WriteByte('0' + c>>3&7)
			sb.WriteByte('0' + c&7)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(')')
	return sb.String()
}
