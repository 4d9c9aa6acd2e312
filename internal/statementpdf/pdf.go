package statementpdf

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
)

// document writes a PDF 1.4 file front to back, one page at a time: a page
// is compressed and written as soon as it is finished, and all that is kept
// of it is where its two objects start (for the cross-reference table at
// the end). Fonts are the standard Helvetica and Helvetica-Bold, which every
// reader has, so nothing is embedded.
//
// Object numbers are fixed: 1 catalog, 2 page tree (written last, once the
// pages are known), 3 and 4 the fonts, 5 the shared resources, 6 the
// document information; then each page's content stream and page object,
// so page i (from 0) is object 8+2i and its Kids entry needs no memory.
type document struct {
	w       *bufio.Writer
	pos     int64   // bytes written so far
	offsets []int64 // offsets[n-1] is where object n starts
	pages   int
	err     error

	content bytes.Buffer // the page being drawn
	packed  bytes.Buffer // its compressed form
	zw      *zlib.Writer

	width, height float64 // points
}

const firstPageObject = 7

func newDocument(w io.Writer, width, height float64, title string) *document {
	d := &document{w: bufio.NewWriterSize(w, 64<<10), width: width, height: height}
	d.zw = zlib.NewWriter(&d.packed)
	// A binary comment after the header tells transfer tools the file is
	// binary (PDF 1.4, 7.5.2).
	d.printf("%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n")
	d.object(1, "<< /Type /Catalog /Pages 2 0 R >>")
	d.object(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	d.object(4, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	d.object(5, "<< /Font << /F1 3 0 R /F2 4 0 R >> /ProcSet [/PDF /Text] >>")
	d.object(6, "<< /Title "+pdfString(title)+" /Producer (bankcore) >>")
	return d
}

func (d *document) printf(format string, args ...any) {
	if d.err != nil {
		return
	}
	n, err := fmt.Fprintf(d.w, format, args...)
	d.pos += int64(n)
	d.err = err
}

func (d *document) write(b []byte) {
	if d.err != nil {
		return
	}
	n, err := d.w.Write(b)
	d.pos += int64(n)
	d.err = err
}

// object writes object n with the body given.
func (d *document) object(n int, body string) {
	d.startObject(n)
	d.printf("%s\nendobj\n", body)
}

func (d *document) startObject(n int) {
	for len(d.offsets) < n {
		d.offsets = append(d.offsets, -1)
	}
	d.offsets[n-1] = d.pos
	d.printf("%d 0 obj\n", n)
}

// endPage compresses the page drawn into content and writes it: its
// content stream, then its page object.
func (d *document) endPage() {
	if d.err != nil {
		return
	}
	d.packed.Reset()
	d.zw.Reset(&d.packed)
	if _, err := d.zw.Write(d.content.Bytes()); err != nil {
		d.err = err
		return
	}
	if err := d.zw.Close(); err != nil {
		d.err = err
		return
	}
	n := firstPageObject + 2*d.pages
	d.startObject(n)
	d.printf("<< /Length %d /Filter /FlateDecode >>\nstream\n", d.packed.Len())
	d.write(d.packed.Bytes())
	d.printf("\nendstream\nendobj\n")
	d.object(n+1, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources 5 0 R /Contents %d 0 R >>",
		num2(d.width), num2(d.height), n))
	d.pages++
	d.content.Reset()
	// Keep the buffers of an ordinary page, not of an outsized one.
	if d.content.Cap() > 1<<20 {
		d.content = bytes.Buffer{}
	}
	if d.packed.Cap() > 1<<20 {
		d.packed = bytes.Buffer{}
	}
}

// close writes the page tree, the cross-reference table and the trailer.
func (d *document) close() error {
	d.startObject(2)
	d.printf("<< /Type /Pages /Count %d /Kids [", d.pages)
	for i := range d.pages {
		if i%10 == 0 {
			d.printf("\n")
		}
		d.printf("%d 0 R ", firstPageObject+2*i+1)
	}
	d.printf("] >>\nendobj\n")
	xref := d.pos
	d.printf("xref\n0 %d\n0000000000 65535 f \n", len(d.offsets)+1)
	for _, off := range d.offsets {
		d.printf("%010d 00000 n \n", off)
	}
	d.printf("trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(d.offsets)+1, xref)
	if d.err != nil {
		return d.err
	}
	return d.w.Flush()
}

// flush hands what is buffered to the underlying writer.
func (d *document) flush() error {
	if d.err != nil {
		return d.err
	}
	return d.w.Flush()
}
