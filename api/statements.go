package api

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/munnerz/goautoneg"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/statementpdf"
)

// BankName heads every statement.
const BankName = "bankcore"

// Statement formats and their media types.
const (
	formatJSON = "json"
	formatCSV  = "csv"
	formatPDF  = "pdf"
)

var mediaOf = map[string]string{
	formatJSON: "application/json",
	formatCSV:  "text/csv",
	formatPDF:  "application/pdf",
}

// statementFormat picks the format: format= when given (a link a browser
// follows carries its own Accept, so the explicit choice in the URL wins),
// else the Accept header, else JSON. Errors: VALIDATION_FAILED for an
// unknown format=, NOT_ACCEPTABLE when Accept admits none of the three.
func statementFormat(r *http.Request) (string, error) {
	if vs, ok := r.URL.Query()["format"]; ok {
		if len(vs) != 1 {
			return "", bank.Invalid("format", "must be given once")
		}
		f := strings.ToLower(vs[0])
		if _, known := mediaOf[f]; !known {
			return "", bank.Invalid("format", "must be json, csv or pdf")
		}
		return f, nil
	}
	accept := strings.ToLower(strings.Join(r.Header.Values("Accept"), ","))
	if strings.TrimSpace(accept) == "" {
		return formatJSON, nil
	}
	// goautoneg parses and orders the ranges (by q, then specificity);
	// a range with q=0 refuses its type, so it never picks one.
	for _, c := range goautoneg.ParseAccept(accept) {
		if c.Q <= 0 {
			continue
		}
		for _, f := range []string{formatJSON, formatCSV, formatPDF} {
			typ, sub, _ := strings.Cut(mediaOf[f], "/")
			if (c.Type == typ || c.Type == "*") && (c.SubType == sub || c.SubType == "*") {
				return f, nil
			}
		}
	}
	return "", bank.Errorf(bank.CodeNotAcceptable, "statements come as application/json, text/csv or application/pdf")
}

// oneParam reads a query parameter that must appear at most once.
func oneParam(r *http.Request, name string) (string, error) {
	vs := r.URL.Query()[name]
	if len(vs) > 1 {
		return "", bank.Invalid(name, "must be given once")
	}
	if len(vs) == 0 {
		return "", nil
	}
	return vs[0], nil
}

// statement handles GET /accounts/{number}/statement?from=&to=: the owner's
// or an operator's, in JSON, CSV or PDF, streamed as the entries come from
// the ledger.
func (s *Server) statement(w http.ResponseWriter, r *http.Request) {
	// The account first, so another's is 404 whatever the parameters.
	a, err := s.ownedAccount(r, chi.URLParam(r, "number"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	format, err := statementFormat(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	from, err := oneParam(r, "from")
	if err != nil {
		writeError(w, r, err)
		return
	}
	to, err := oneParam(r, "to")
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := bank.ParsePeriod(from, to, time.Now())
	if err != nil {
		writeError(w, r, err)
		return
	}
	owner, err := s.d.Users.ByID(r.Context(), a.OwnerID)
	if err != nil {
		writeError(w, r, err)
		return
	}

	out := newStatementOutput(w, format, statementpdf.Header{
		Bank: BankName, AccountNumber: a.AccountNumber, OwnerName: owner.FullName, From: p.From, To: p.To,
		Generated: time.Now(),
	})
	started := false
	err = s.d.Ledger.Statement(r.Context(), a.ID, p.Start, p.End,
		func(sum bank.StatementSummary) error { started = true; return out.head(sum) },
		out.item)
	if err == nil {
		err = out.close()
	}
	if err == nil {
		return
	}
	if !started {
		writeError(w, r, err)
		return
	}
	// The status and part of the body are out: a problem can no longer be
	// sent, and a statement cut short must not look whole. Dropping the
	// connection without the final chunk makes every client see a failed
	// download.
	if r.Context().Err() == nil {
		logger(r.Context()).Error("statement cut short", "err", err, "format", format)
	}
	panic(http.ErrAbortHandler)
}

// statementOutput writes one statement in its format: the head once, then
// every item, then close.
type statementOutput struct {
	w      http.ResponseWriter
	buf    *bufio.Writer
	format string
	header statementpdf.Header

	items int64
	csv   *csv.Writer
	pdf   *statementpdf.Writer
}

// writeWindow is how long one write to the client may take. The server's
// WriteTimeout bounds a whole response; a long statement pushes its write
// deadline forward as it makes progress instead, so a slow reader of a
// large statement is not cut off while a stalled one still is.
const writeWindow = 30 * time.Second

func newStatementOutput(w http.ResponseWriter, format string, h statementpdf.Header) *statementOutput {
	o := &statementOutput{w: w, format: format, header: h}
	o.buf = bufio.NewWriterSize(&progressWriter{w: w, rc: http.NewResponseController(w)}, 32<<10)
	return o
}

func (o *statementOutput) head(sum bank.StatementSummary) error {
	h := o.w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept")
	h.Set("X-Content-Type-Options", "nosniff")
	name := fmt.Sprintf("statement-%s-%s-%s.%s", o.header.AccountNumber, o.header.From, o.header.To, o.format)
	switch o.format {
	case formatCSV:
		h.Set("Content-Type", "text/csv; charset=utf-8; header=present")
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	case formatPDF:
		h.Set("Content-Type", "application/pdf")
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	default:
		h.Set("Content-Type", "application/json")
	}
	o.w.WriteHeader(http.StatusOK)

	o.header.Summary = sum
	switch o.format {
	case formatCSV:
		o.csv = csv.NewWriter(o.buf)
		return o.csv.Write(csvHeader)
	case formatPDF:
		o.pdf = statementpdf.New(o.buf, o.header)
		return nil
	}
	head, err := json.Marshal(statementHead{
		AccountNumber: o.header.AccountNumber, OwnerName: o.header.OwnerName, From: o.header.From, To: o.header.To,
		OpeningBalance: sum.Opening.String(), ClosingBalance: sum.Closing.String(),
		TotalCredits: sum.Credits.String(), TotalDebits: sum.Debits.String(),
	})
	if err != nil {
		return err
	}
	// {"account_number":...,"total_debits":"..."} becomes the same object
	// with "items":[ opened at its end.
	_, err = o.buf.Write(append(head[:len(head)-1], `,"items":[`...))
	return err
}

// statementHead is the JSON statement without its items, in the
// contract's order.
type statementHead struct {
	AccountNumber  string `json:"account_number"`
	OwnerName      string `json:"owner_name"`
	From           string `json:"from"`
	To             string `json:"to"`
	OpeningBalance string `json:"opening_balance"`
	ClosingBalance string `json:"closing_balance"`
	TotalCredits   string `json:"total_credits"`
	TotalDebits    string `json:"total_debits"`
}

var csvHeader = []string{"id", "created_at", "kind", "direction", "transfer_reference", "counterparty_account",
	"narration", "amount", "balance_after"}

func (o *statementOutput) item(e bank.Entry) error {
	o.items++
	switch o.format {
	case formatCSV:
		return o.csv.Write([]string{
			strconv.FormatInt(e.ID, 10), e.CreatedAt.UTC().Format(time.RFC3339Nano), e.Kind.HistoryKind(), e.Direction,
			csvText(e.TransferReference), e.CounterpartyAccount, csvText(e.Narration),
			e.Amount.String(), e.BalanceAfter.String(),
		})
	case formatPDF:
		return o.pdf.Item(e)
	}
	raw, err := json.Marshal(viewEntry(e))
	if err != nil {
		return err
	}
	if o.items > 1 {
		if err := o.buf.WriteByte(','); err != nil {
			return err
		}
	}
	_, err = o.buf.Write(raw)
	return err
}

func (o *statementOutput) close() error {
	switch o.format {
	case formatCSV:
		o.csv.Flush()
		if err := o.csv.Error(); err != nil {
			return err
		}
	case formatPDF:
		if err := o.pdf.Close(); err != nil {
			return err
		}
	default:
		if _, err := o.buf.WriteString("]}\n"); err != nil {
			return err
		}
	}
	return o.buf.Flush()
}

// csvText keeps a customer's free text from being read as a formula by a
// spreadsheet (CSV injection): a cell that starts with = + - @ or a tab or
// carriage return gets a leading apostrophe, as OWASP recommends. The
// other cells are ours (numbers, ids, codes).
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// progressWriter writes to the response and moves its write deadline
// forward as the statement makes progress (writeWindow).
type progressWriter struct {
	w        io.Writer
	rc       *http.ResponseController
	extended time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if now := time.Now(); now.Sub(p.extended) > time.Second {
		// Not every server offers deadlines (httptest's recorder); the
		// server's own timeout then stands.
		_ = p.rc.SetWriteDeadline(now.Add(writeWindow))
		p.extended = now
	}
	return p.w.Write(b)
}

// balanceAt handles GET /accounts/{number}/balance?at=: the ledger balance
// after every entry at or before a time, the owner's or an operator's.
func (s *Server) balanceAt(w http.ResponseWriter, r *http.Request) {
	a, err := s.ownedAccount(r, chi.URLParam(r, "number"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, err := oneParam(r, "at")
	if err != nil {
		writeError(w, r, err)
		return
	}
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		writeError(w, r, bank.Invalid("at", "must be a time as RFC 3339, such as 2026-03-01T09:30:00+01:00"))
		return
	}
	if at.After(time.Now()) {
		// The balance at a future time is not known yet; answering today's
		// would state something that may not hold.
		writeError(w, r, bank.Invalid("at", "must not be in the future"))
		return
	}
	b, err := s.d.Ledger.BalanceAt(r.Context(), a.ID, at)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"account_number": a.AccountNumber, "at": at.Format(time.RFC3339Nano), "balance": b.String(),
	})
}
