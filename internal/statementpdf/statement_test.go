package statementpdf

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/pdftext"
)

// sample makes n entries from an opening balance of 1,000.00: every third
// a deposit, the rest transfers out, and the summary that goes with them.
func sample(n int64) ([]bank.Entry, bank.StatementSummary) {
	bal := bank.Money(1000_00)
	s := bank.StatementSummary{Opening: bal, Items: n}
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	items := make([]bank.Entry, 0, n)
	for i := range n {
		e := bank.Entry{
			ID: i + 1, Kind: bank.KindTransfer, TransferReference: fmt.Sprintf("ref-%d", i),
			Amount: bank.Money(3_00 + i), CounterpartyAccount: "2234567891", Narration: fmt.Sprintf("item %d", i),
			CreatedAt: start.Add(time.Duration(i) * time.Minute),
		}
		if i%3 == 0 {
			e.Kind, e.Direction, e.CounterpartyAccount = bank.KindDeposit, "CREDIT", "0000000000"
			bal += e.Amount
			s.Credits += e.Amount
		} else {
			e.Direction = "DEBIT"
			bal -= e.Amount
			s.Debits += e.Amount
		}
		e.BalanceAfter = bal
		items = append(items, e)
	}
	s.Closing = bal
	return items, s
}

func header(s bank.StatementSummary) Header {
	return Header{Bank: "bankcore", AccountNumber: "1234567897", OwnerName: "Ada Lovelace", From: "2026-03-01",
		To: "2026-03-31", Summary: s, Generated: time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC)}
}

func render(t *testing.T, w io.Writer, items []bank.Entry, s bank.StatementSummary) {
	t.Helper()
	sw := New(w, header(s))
	for _, e := range items {
		if err := sw.Item(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStatementReadsBack renders a statement of several pages and reads it
// with an independent PDF reader: the heading, every figure, every row in
// order, and the page numbers.
func TestStatementReadsBack(t *testing.T) {
	const n = 200
	items, s := sample(n)
	var buf bytes.Buffer
	render(t, &buf, items, s)
	pages, err := pdftext.Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != Pages(n) || len(pages) < 3 {
		t.Fatalf("%d pages, want %d (and several)", len(pages), Pages(n))
	}
	first := pages[0].Text()
	for _, want := range []string{
		"bankcore", "Account statement", "Generated 2026-04-01 10:30 (Lagos)",
		"Account holder | Ada Lovelace", "Account number | 1234567897", "Period | 2026-03-01 to 2026-03-31",
		"NGN " + Amount(s.Opening), "NGN " + Amount(s.Credits), "NGN " + Amount(s.Debits), "NGN " + Amount(s.Closing),
		fmt.Sprintf("%d transactions", n),
		"Date (Lagos) | Details | Reference | Debit | Credit | Balance",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("page 1 lacks %q:\n%s", want, first)
		}
	}
	// Every row, in order, with its figures in their columns.
	var rows []string
	for i, p := range pages {
		text := p.Text()
		if !strings.Contains(text, fmt.Sprintf("Page %d of %d", i+1, len(pages))) {
			t.Errorf("page %d lacks its number:\n%s", i+1, text)
		}
		for _, line := range p {
			if len(line) > 0 && strings.HasPrefix(line[0], "2026-") {
				rows = append(rows, strings.Join(line, " | "))
			}
		}
	}
	if len(rows) != n {
		t.Fatalf("%d rows read back, want %d", len(rows), n)
	}
	for i, e := range items {
		when := e.CreatedAt.In(bank.Lagos).Format("2006-01-02 15:04")
		var want string
		if e.Direction == "DEBIT" {
			want = fmt.Sprintf("%s | Transfer to 2234567891 · item %d | ref-%d | %s | %s", when, i, i, Amount(e.Amount), Amount(e.BalanceAfter))
		} else {
			want = fmt.Sprintf("%s | Deposit · item %d | ref-%d | %s | %s", when, i, i, Amount(e.Amount), Amount(e.BalanceAfter))
		}
		if rows[i] != want {
			t.Errorf("row %d = %q, want %q", i, rows[i], want)
		}
	}
	last := pages[len(pages)-1].Text()
	if !strings.Contains(last, "End of statement. Closing balance NGN "+Amount(s.Closing)) {
		t.Errorf("last page lacks the closing line:\n%s", last)
	}
}

// TestPagesAnnouncedMatchPagesDrawn: the "of N" every footer prints
// before the rows are read is the number of pages drawn, for counts around
// every page boundary (Close refuses a mismatch).
func TestPagesAnnouncedMatchPagesDrawn(t *testing.T) {
	counts := []int64{0, 1}
	for _, edge := range []int{firstPageRows, firstPageRows + otherPageRows, firstPageRows + 3*otherPageRows} {
		for d := -3; d <= 3; d++ {
			counts = append(counts, int64(edge+d))
		}
	}
	for _, n := range counts {
		items, s := sample(n)
		sw := New(io.Discard, header(s))
		for _, e := range items {
			if err := sw.Item(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := sw.Close(); err != nil {
			t.Errorf("%d items: %v", n, err)
		}
	}
	if Pages(0) != 1 || Pages(int64(firstPageRows-trailerSlots)) != 1 || Pages(int64(firstPageRows)) != 2 {
		t.Errorf("Pages(0, fits, full) = %d, %d, %d", Pages(0), Pages(int64(firstPageRows-trailerSlots)), Pages(int64(firstPageRows)))
	}
}

func TestEmptyStatement(t *testing.T) {
	var buf bytes.Buffer
	render(t, &buf, nil, bank.StatementSummary{Opening: 42_00, Closing: 42_00})
	pages, err := pdftext.Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || !strings.Contains(pages[0].Text(), "No money moved in this period. Balance NGN 42.00") ||
		!strings.Contains(pages[0].Text(), "Page 1 of 1") {
		t.Errorf("%d pages:\n%s", len(pages), pages[0].Text())
	}
}

// TestCloseRefusesAShortStatement: a statement missing rows its summary
// counted is never finished as if it were whole.
func TestCloseRefusesAShortStatement(t *testing.T) {
	items, s := sample(5)
	sw := New(io.Discard, header(s))
	for _, e := range items[:4] {
		if err := sw.Item(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Close(); err == nil {
		t.Fatal("Close accepted 4 rows of 5")
	}
}

// TestPagesLeaveAsTheyFill: a finished page is written out before the next
// one is drawn, so what the writer holds is one page, not the document.
func TestPagesLeaveAsTheyFill(t *testing.T) {
	items, s := sample(int64(firstPageRows + 5*otherPageRows))
	var out countingWriter
	sw := New(&out, header(s))
	written := []int64{}
	for i, e := range items {
		if err := sw.Item(e); err != nil {
			t.Fatal(err)
		}
		if err := sw.Flush(); err != nil {
			t.Fatal(err)
		}
		if i > firstPageRows && (i-firstPageRows)%otherPageRows == 0 {
			written = append(written, out.n)
		}
	}
	for i := 1; i < len(written); i++ {
		if written[i] <= written[i-1] {
			t.Fatalf("bytes out at successive page starts: %v", written)
		}
	}
	if held := sw.d.content.Len(); held > 64<<10 {
		t.Errorf("the writer holds %d bytes of page content", held)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func TestWinAnsi(t *testing.T) {
	cases := map[string]string{
		"Ada Lovelace":       "Ada Lovelace",
		"Adébáyọ̀ Ṣeun":      "Adébáyo Seun",
		"Ọlá":                "Olá",
		"naïve café €5":      "naïve café €5",
		"tab\tnew\nline\x00": "tab\tnew line ",
		"日本":                 "??",
	}
	for in, want := range cases {
		got, err := decode1252(winAnsi(in))
		if err != nil || got != want {
			t.Errorf("winAnsi(%q) reads %q, want %q", in, got, want)
		}
	}
}

func TestLiteralEscapes(t *testing.T) {
	if got := literal([]byte("a(b)c\\d\xe9")); got != `(a\(b\)c\\d\351)` {
		t.Errorf("literal = %s", got)
	}
}

func TestAmount(t *testing.T) {
	cases := map[bank.Money]string{0: "0.00", 5: "0.05", 1500_50: "1,500.50", 100_000_000_00: "100,000,000.00",
		-1234_56: "-1,234.56", 999_99: "999.99", 1000_00: "1,000.00"}
	for m, want := range cases {
		if got := Amount(m); got != want {
			t.Errorf("Amount(%d) = %s, want %s", m, got, want)
		}
	}
}

func decode1252(b []byte) (string, error) {
	return charmap.Windows1252.NewDecoder().String(string(b))
}
