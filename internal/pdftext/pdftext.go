// Package pdftext reads a PDF back as text, for tests: each page's lines,
// top to bottom, each line's text runs left to right. It uses an
// independent reader (github.com/ledongthuc/pdf), so a test of a PDF we
// write checks what any reader would show, not what our writer meant.
package pdftext

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ledongthuc/pdf"
)

// Page is one page's lines, top to bottom; each line is its text runs
// (one per text-showing operation) left to right.
type Page [][]string

// Text returns the page's lines, runs joined by " | ".
func (p Page) Text() string {
	var sb strings.Builder
	for _, line := range p {
		sb.WriteString(strings.Join(line, " | "))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// Read parses a whole PDF document. Glyphs on one baseline form a line;
// a gap wider than gapPt between two glyphs starts a new run, so table
// cells come apart and words within a cell (spaced by a space glyph) stay
// together.
func Read(doc []byte) (pages []Page, err error) {
	r, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return nil, fmt.Errorf("not a PDF a reader accepts: %w", err)
	}
	defer func() {
		// The reader panics on some malformed content streams.
		if v := recover(); v != nil {
			pages, err = nil, fmt.Errorf("unreadable PDF: %v", v)
		}
	}()
	for i := 1; i <= r.NumPage(); i++ {
		glyphs := r.Page(i).Content().Text
		sort.SliceStable(glyphs, func(a, b int) bool {
			if glyphs[a].Y != glyphs[b].Y {
				return glyphs[a].Y > glyphs[b].Y
			}
			return glyphs[a].X < glyphs[b].X
		})
		var p Page
		var line []string
		var run strings.Builder
		var y, end float64
		flushRun := func() {
			if run.Len() > 0 {
				line = append(line, run.String())
				run.Reset()
			}
		}
		for j, g := range glyphs {
			switch {
			case j == 0:
			case math.Abs(g.Y-y) > 0.01:
				flushRun()
				p = append(p, line)
				line = nil
			case g.X-end > gapPt:
				flushRun()
			}
			run.WriteString(g.S)
			y, end = g.Y, g.X+g.W
		}
		flushRun()
		if line != nil {
			p = append(p, line)
		}
		pages = append(pages, p)
	}
	return pages, nil
}

// gapPt is the widest gap, in points, within one run of text.
const gapPt = 2.5
