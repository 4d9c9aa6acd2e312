// Package statementpdf renders an account statement as a PDF while its
// entries stream in: each page is compressed and written out as soon as it
// is full, so memory stays that of one page however long the statement
// (plus 16 bytes per page for the cross-reference table). No Go PDF
// library we could take writes pages out as it goes (docs/design.md,
// "Statements"); the PDF written here is the small subset a text document
// needs, checked in tests by an independent reader.
package statementpdf

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bankcore/bank/bank"
)

// Header is what the first page says about the account and the period.
type Header struct {
	Bank          string // the bank's name, printed on every page
	AccountNumber string
	OwnerName     string
	From, To      string // Lagos days, YYYY-MM-DD, inclusive
	Summary       bank.StatementSummary
	Generated     time.Time
}

// A4 in points, and the layout's measures.
const (
	pageWidth  = 595.28
	pageHeight = 841.89
	margin     = 36.0
	contentW   = pageWidth - 2*margin

	rowHeight    = 11.0
	rowFont      = 7.5
	headRowH     = 14.0
	footerY      = 22.0                      // baseline of the page footer
	tableBottom  = 40.0                      // no row below this
	firstTableY  = pageHeight - margin - 166 // top of page 1's table
	otherTableY  = pageHeight - margin - 30  // top of later pages' tables
	trailerSlots = 2                         // rows the closing lines take
)

// rowsOn is how many rows fit under a table whose top is at y.
func rowsOn(top float64) int {
	return int(math.Floor((top - headRowH - tableBottom) / rowHeight))
}

var (
	firstPageRows = rowsOn(firstTableY)
	otherPageRows = rowsOn(otherTableY)
)

// Pages is the number of pages a statement of n items takes: rows are one
// line each, so it follows from n alone and every footer can say "of N"
// before the rows are read.
func Pages(n int64) int {
	pages, free := int64(1), int64(firstPageRows)
	if n > free {
		rest := n - free
		more := (rest + int64(otherPageRows) - 1) / int64(otherPageRows)
		pages += more
		free = int64(otherPageRows) - (rest - (more-1)*int64(otherPageRows))
	} else {
		free -= n
	}
	if free < trailerSlots {
		pages++
	}
	return int(pages)
}

// column is one column of the table.
type column struct {
	title string
	x, w  float64
	right bool // amounts are right-aligned
}

var columns = func() []column {
	cols := []column{
		{title: "Date (Lagos)", w: 68},
		{title: "Details", w: 187},
		{title: "Reference", w: 88},
		{title: "Debit", w: 58, right: true},
		{title: "Credit", w: 58, right: true},
		{title: "Balance", w: 64, right: true},
	}
	x := margin
	for i := range cols {
		cols[i].x = x
		x += cols[i].w
	}
	return cols
}()

// Writer draws a statement page by page onto an io.Writer.
type Writer struct {
	d      *document
	h      Header
	total  int // pages the statement will have
	page   int // the page being drawn, from 1
	free   int // rows left on it
	y      float64
	items  int64 // rows drawn
	closed bool
}

// New starts the statement: the document and its first page's heading.
// Nothing is written to w until a page is full, Flush or Close.
func New(w io.Writer, h Header) *Writer {
	title := fmt.Sprintf("%s statement %s %s to %s", h.Bank, h.AccountNumber, h.From, h.To)
	sw := &Writer{d: newDocument(w, pageWidth, pageHeight, title), h: h, total: Pages(h.Summary.Items)}
	sw.startPage()
	return sw
}

// Item adds one entry as a row, starting a new page when this one is full.
func (w *Writer) Item(e bank.Entry) error {
	if w.free == 0 {
		w.endPage()
		w.startPage()
	}
	c := &w.d.content
	y := w.y - rowHeight + 3
	if w.items%2 == 1 { // zebra rows guide the eye across the line
		fmt.Fprintf(c, "0.95 g %s %s %s %s re f 0 g\n", num2(margin), num2(w.y-rowHeight), num2(contentW), num2(rowHeight))
	}
	debit, credit := "", ""
	if e.Direction == "DEBIT" {
		debit = Amount(e.Amount)
	} else {
		credit = Amount(e.Amount)
	}
	cells := []string{
		e.CreatedAt.In(bank.Lagos).Format("2006-01-02 15:04"),
		details(e),
		e.TransferReference,
		debit, credit, Amount(e.BalanceAfter),
	}
	for i, col := range columns {
		w.cell(col, y, cells[i], false, rowFont)
	}
	w.y -= rowHeight
	w.free--
	w.items++
	return w.d.err
}

// details says what the entry was: its kind, the other side, the narration.
func details(e bank.Entry) string {
	var s string
	switch {
	case e.Kind == bank.KindDeposit:
		s = "Deposit"
	case e.Direction == "DEBIT":
		s = "Transfer to " + e.CounterpartyAccount
	default:
		s = "Transfer from " + e.CounterpartyAccount
	}
	if e.Kind != bank.KindDeposit && e.Kind != bank.KindTransfer {
		k := string(e.Kind)
		s = strings.ToUpper(k[:1]) + k[1:] + " " + e.CounterpartyAccount
	}
	if n := strings.TrimSpace(e.Narration); n != "" {
		s += " \u00b7 " + n
	}
	return s
}

// Flush writes out what is buffered (finished pages), for a caller that
// streams the document to a client.
func (w *Writer) Flush() error { return w.d.flush() }

// Close ends the statement: its closing lines, the last page, and the
// document's tables. The statement must have had every item its summary
// counted.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.items != w.h.Summary.Items {
		return fmt.Errorf("statement: %d items drawn, the summary counts %d", w.items, w.h.Summary.Items)
	}
	if w.free < trailerSlots {
		w.endPage()
		w.startPage()
	}
	line := "End of statement. Closing balance NGN " + Amount(w.h.Summary.Closing)
	if w.items == 0 {
		line = "No money moved in this period. Balance NGN " + Amount(w.h.Summary.Closing)
	}
	w.text(margin, w.y-rowHeight-4, line, true, 8.5)
	w.endPage()
	if w.page != w.total {
		return fmt.Errorf("statement: %d pages drawn, %d announced", w.page, w.total)
	}
	return w.d.close()
}

func (w *Writer) startPage() {
	w.page++
	top := otherTableY
	if w.page == 1 {
		w.firstHeading()
		top = firstTableY
	} else {
		w.laterHeading()
	}
	w.tableHead(top)
	w.y = top - headRowH
	w.free = rowsOn(top)
}

func (w *Writer) endPage() {
	footer := fmt.Sprintf("%s  \u00b7  Account %s  \u00b7  Amounts in NGN; times in Lagos (WAT, UTC+01:00)",
		w.h.Bank, w.h.AccountNumber)
	w.text(margin, footerY, footer, false, 7)
	w.textRight(pageWidth-margin, footerY, fmt.Sprintf("Page %d of %d", w.page, w.total), false, 7)
	w.d.endPage()
}

func (w *Writer) firstHeading() {
	top := pageHeight - margin
	w.text(margin, top-18, w.h.Bank, true, 20)
	w.textRight(pageWidth-margin, top-14, "Account statement", true, 13)
	w.textRight(pageWidth-margin, top-26, "Generated "+w.h.Generated.In(bank.Lagos).Format("2006-01-02 15:04")+" (Lagos)", false, 7.5)
	w.rule(top - 34)

	y := top - 52
	label := func(x, y float64, l, v string) {
		w.text(x, y, l, false, 8)
		w.text(x+82, y, v, true, 9.5)
	}
	label(margin, y, "Account holder", w.h.OwnerName)
	label(margin, y-15, "Account number", w.h.AccountNumber)
	label(margin+300, y, "Period", w.h.From+" to "+w.h.To)
	label(margin+300, y-15, "Currency", "NGN (Nigerian naira)")

	// The summary: four boxes across the page.
	boxTop := y - 32
	const boxH = 40.0
	s := w.h.Summary
	boxes := []struct{ label, value string }{
		{"Opening balance", Amount(s.Opening)},
		{"Total credits", Amount(s.Credits)},
		{"Total debits", Amount(s.Debits)},
		{"Closing balance", Amount(s.Closing)},
	}
	bw := contentW / float64(len(boxes))
	c := &w.d.content
	fmt.Fprintf(c, "0.94 g %s %s %s %s re f 0 g\n", num2(margin), num2(boxTop-boxH), num2(contentW), num2(boxH))
	for i, b := range boxes {
		x := margin + float64(i)*bw
		w.text(x+8, boxTop-14, b.label, false, 8)
		w.text(x+8, boxTop-31, "NGN "+b.value, true, 11)
	}
	w.text(margin, boxTop-boxH-14,
		fmt.Sprintf("%d transactions. Opening balance + credits - debits = closing balance.", s.Items), false, 7.5)
}

func (w *Writer) laterHeading() {
	top := pageHeight - margin
	w.text(margin, top-12, w.h.Bank, true, 11)
	w.textRight(pageWidth-margin, top-12,
		fmt.Sprintf("Account statement  \u00b7  %s  \u00b7  %s  \u00b7  %s to %s", w.h.OwnerName, w.h.AccountNumber, w.h.From, w.h.To),
		false, 8)
	w.rule(top - 18)
}

func (w *Writer) tableHead(top float64) {
	c := &w.d.content
	fmt.Fprintf(c, "0.2 0.25 0.35 rg %s %s %s %s re f 0 g\n", num2(margin), num2(top-headRowH), num2(contentW), num2(headRowH))
	fmt.Fprintf(c, "1 g\n")
	for _, col := range columns {
		w.cell(col, top-headRowH+4, col.title, true, 7.5)
	}
	fmt.Fprintf(c, "0 g\n")
}

// cell writes s in the column, cut to fit (text) or shrunk to fit (an
// amount, which must never lose a digit).
func (w *Writer) cell(col column, y float64, s string, bold bool, size float64) {
	const pad = 3.0
	enc := winAnsi(s)
	room := col.w - 2*pad
	if col.right {
		if wd := width(enc, bold, size); wd > room {
			size *= room / wd
		}
		w.show(col.x+col.w-pad-width(enc, bold, size), y, enc, bold, size)
		return
	}
	w.show(col.x+pad, y, fit(enc, bold, size, room), bold, size)
}

func (w *Writer) text(x, y float64, s string, bold bool, size float64) {
	w.show(x, y, fit(winAnsi(s), bold, size, pageWidth-margin-x), bold, size)
}

func (w *Writer) textRight(right, y float64, s string, bold bool, size float64) {
	enc := fit(winAnsi(s), bold, size, right-margin)
	w.show(right-width(enc, bold, size), y, enc, bold, size)
}

func (w *Writer) show(x, y float64, enc []byte, bold bool, size float64) {
	font := "F1"
	if bold {
		font = "F2"
	}
	fmt.Fprintf(&w.d.content, "BT /%s %s Tf %s %s Td %s Tj ET\n", font, num2(size), num2(x), num2(y), literal(enc))
}

func (w *Writer) rule(y float64) {
	fmt.Fprintf(&w.d.content, "0.5 w %s %s m %s %s l S\n", num2(margin), num2(y), num2(pageWidth-margin), num2(y))
}

// num2 prints a coordinate rounded to hundredths of a point.
func num2(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

// Amount prints money as a statement does: thousands grouped, two decimals
// ("1,500.50").
func Amount(m bank.Money) string {
	s := m.String()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b bytes.Buffer
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return sign + b.String() + "." + frac
}
