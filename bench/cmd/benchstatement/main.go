// Command benchstatement measures balances in time and statements on an
// account with a long history (default 1,000,000 entries over the last
// twelve months): the balance at a time (p50/p99 through the API, and the
// query plan), and 12-month and 1-month statements in JSON, CSV and PDF
// (time, size, and the API process's peak memory, read from /proc).
//
// It starts the bench stack (bench/internal/stack: a Temporal dev server,
// a fresh database, the bank built from this checkout as separate
// processes), registers a customer through the API, then loads the history
// straight into the ledger with one generate_series insert that keeps the
// ledger's invariants (each transfer two balanced entries, each account's
// balance_after chain, balances equal to their entries; the audit checks
// them). The requests go to bank B, an API-only process, so its memory is
// the API's alone.
//
//	go run ./bench/cmd/benchstatement [-entries 1000000]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/bench/internal/fixture"
	"github.com/bankcore/bank/bench/internal/stack"
	"github.com/bankcore/bank/bench/internal/stats"
	"github.com/bankcore/bank/bench/internal/sysinfo"
	"github.com/bankcore/bank/internal/postgres"
)

func main() {
	entries := flag.Int("entries", 1_000_000, "entries on the measured account, spread over the last 365 days")
	lookups := flag.Int("lookups", 2000, "balance-at requests (sequential, random times)")
	out := flag.String("out", "bench/results", "directory for the report")
	flag.Parse()
	if *entries < 2 || *entries%2 != 0 {
		fmt.Fprintln(os.Stderr, "-entries must be even and at least 2")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	if err := run(ctx, *entries, *lookups, *out); err != nil {
		fmt.Fprintln(os.Stderr, "benchstatement:", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func run(ctx context.Context, n, lookups int, outDir string) (err error) {
	started := time.Now()
	say("starting the stack (build, Temporal dev server, database, bank A, bank B, notifier)")
	st, err := stack.Start(ctx, stack.Options{BcryptCost: 4})
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the stack")
		if serr := st.Stop(); err == nil {
			err = serr
		}
	}()
	c := &http.Client{Timeout: 20 * time.Minute}

	// A customer, through the API, so the statement has a real owner.
	email := "statement-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@example.com"
	if _, err := call(ctx, c, "POST", st.URLA+"/auth/register", "", map[string]any{
		"email": email, "password": "correct-horse-battery", "full_name": "Ada Statement", "phone": "08031234567",
		"kyc": map[string]string{"type": "NIN", "number": "12345678901"},
	}, 201); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	raw, err := call(ctx, c, "POST", st.URLA+"/auth/login", "", map[string]string{"email": email, "password": "correct-horse-battery"}, 200)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil {
		return err
	}
	raw, err = call(ctx, c, "GET", st.URLB+"/me", tok.AccessToken, nil, 200)
	if err != nil {
		return err
	}
	var me struct {
		Accounts []struct {
			AccountNumber string `json:"account_number"`
			OwnerID       string `json:"owner_id"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(raw, &me); err != nil {
		return fmt.Errorf("me: %w", err)
	}
	if len(me.Accounts) != 1 {
		return fmt.Errorf("me: want one account: %s", raw)
	}
	account, owner := me.Accounts[0].AccountNumber, me.Accounts[0].OwnerID

	pool, err := postgres.Connect(ctx, st.Config.DatabaseURL, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	// The year ends at the start of today (Lagos), so the 12-month
	// statement [today-365, today] holds every entry.
	now := time.Now().In(bank.Lagos)
	end := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, bank.Lagos)
	begin := end.AddDate(0, 0, -365)
	say("loading %d entries on account %s from %s to %s", n, account, begin.Format(time.DateOnly), end.Format(time.DateOnly))
	t0 := time.Now()
	if err := seed(ctx, pool, account, owner, begin, end, n); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	loadTook := time.Since(t0)
	say("loaded in %s; auditing the ledger", loadTook.Round(time.Second))
	audit, err := postgres.NewLedger(pool).RunAudit(ctx)
	if err != nil {
		return err
	}
	if audit.Total != 0 || len(audit.Mismatched) > 0 || len(audit.Negative) > 0 || audit.CompletedMissing > 0 {
		return fmt.Errorf("ledger audit after loading: %+v", audit)
	}
	var accountID int64
	var finalBalance bank.Money
	if err := pool.QueryRow(ctx, `SELECT id, balance FROM ledger.accounts WHERE account_number = $1`, account).Scan(&accountID, &finalBalance); err != nil {
		return err
	}

	rep := &strings.Builder{}
	m := sysinfo.Host()
	fmt.Fprintf(rep, "### Statements and balances in time (%s)\n\n", started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(rep, "`go run ./bench/cmd/benchstatement -entries %d` (part of `make bench`); %d cores (%s), %s, %s; load average at start %s.\n\n",
		n, m.NProc, m.CPUModel, m.MemTotal, m.GoVersion, sysinfo.LoadAvg())
	fmt.Fprintf(rep, "One account with %d entries (%d deposits in, %d transfers out) spread evenly over %s .. %s (Lagos), loaded in %s with one generate_series insert; ledger audit after loading: sum %s, %d accounts, no mismatch. Requests to bank B (`bank api`, pid %d) over loopback, one at a time.\n\n",
		n, n/2, n/2, begin.Format(time.DateOnly), end.AddDate(0, 0, -1).Format(time.DateOnly), loadTook.Round(time.Second), audit.Total, audit.Accounts, st.B.Pid())

	// Balance at a time.
	say("balance at a time: %d requests", lookups)
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, lookups)
	span := end.Sub(begin)
	for i := range lookups {
		at := begin.Add(time.Duration(rng.Int64N(int64(span))))
		if i == 0 {
			at = end // after every entry: the balance is the account's
		}
		t := time.Now()
		raw, err := call(ctx, c, "GET", st.URLB+"/accounts/"+account+"/balance?at="+url.QueryEscape(at.Format(time.RFC3339Nano)), tok.AccessToken, nil, 200)
		lat = append(lat, time.Since(t))
		if err != nil {
			return fmt.Errorf("balance at %v: %w", at, err)
		}
		if i == 0 {
			var b struct{ Balance string }
			_ = json.Unmarshal(raw, &b)
			if b.Balance != finalBalance.String() {
				return fmt.Errorf("balance after every entry %s, account balance %s", b.Balance, finalBalance)
			}
		}
	}
	slices.Sort(lat)
	fmt.Fprintf(rep, "**Balance at a time**, `GET /accounts/{n}/balance?at=` at %d random times of the year (HTTP round trip, JWT check, account lookup, the balance lookup): p50 %.2f ms, p99 %.2f ms, max %.2f ms.\n\n",
		lookups, ms(stats.Percentile(lat, 0.50)), ms(stats.Percentile(lat, 0.99)), ms(lat[len(lat)-1]))
	plan, err := explain(ctx, pool, accountID, begin.Add(span/2))
	if err != nil {
		return err
	}
	fmt.Fprintf(rep, "Its query's plan at mid-year (`EXPLAIN (ANALYZE, BUFFERS)`):\n\n```\n%s```\n\n", plan)

	// Statements.
	fmt.Fprintf(rep, "**Statements** through the API, each read to the end by the client; peak memory is bank B's VmHWM, reset before each request (`/proc/<pid>/clear_refs`); RSS before is its resident set when the request starts.\n\n")
	fmt.Fprintf(rep, "| statement | format | items | bytes | time | API RSS before | API peak RSS |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	today := now.Format(bank.DateLayout)
	month := now.AddDate(0, -1, 0).Format(bank.DateLayout)
	yearFrom := now.AddDate(0, 0, -365).Format(bank.DateLayout)
	for _, s := range []struct{ name, from string }{{"1 month", month}, {"12 months", yearFrom}} {
		for _, format := range []string{"json", "csv", "pdf"} {
			say("statement %s %s", s.name, format)
			res, err := statement(ctx, c, st.URLB, tok.AccessToken, account, s.from, today, format, st.B.Pid())
			if err != nil {
				return fmt.Errorf("statement %s %s: %w", s.name, format, err)
			}
			items := "-"
			if res.items >= 0 {
				items = strconv.Itoa(res.items)
			}
			fmt.Fprintf(rep, "| %s (%s .. %s) | %s | %s | %.1f MB | %.1f s | %.0f MiB | %.0f MiB |\n", s.name, s.from, today, format,
				items, float64(res.bytes)/1e6, res.took.Seconds(), float64(res.rssBefore)/1024, float64(res.peak)/1024)
		}
	}
	fmt.Fprintf(rep, "\n")

	fmt.Print(rep.String())
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(outDir, "statements-"+started.UTC().Format("20060102-150405")+".md")
	say("report: %s", path)
	return os.WriteFile(path, []byte(rep.String()), 0o644)
}

// seed loads n entries on the account (alternately a deposit in and a
// transfer out of three quarters of it to a counterparty), evenly spaced
// over [begin, end), in one transaction, keeping every invariant of the
// ledger, then vacuums so the time index answers index-only.
func seed(ctx context.Context, pool *pgxpool.Pool, account, owner string, begin, end time.Time, n int) error {
	other, err := fixture.SeedAccounts(ctx, pool, 1)
	if err != nil {
		return err
	}
	step := end.Sub(begin).Microseconds() / int64(n)
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var subject, counterparty, system int64
	var subjectBal, otherBal, systemBal bank.Money
	err = tx.QueryRow(ctx, `
		SELECT s.id, s.balance, o.id, o.balance, f.id, f.balance
		FROM ledger.accounts s, ledger.accounts o, ledger.accounts f
		WHERE s.account_number = $1 AND o.account_number = $2 AND f.account_number = $3
		FOR UPDATE`, account, other[0].Number, postgres.SystemAccountNumber).
		Scan(&subject, &subjectBal, &counterparty, &otherBal, &system, &systemBal)
	if err != nil {
		return err
	}
	if subjectBal != 0 || otherBal != 0 {
		return errors.New("the accounts are not new")
	}
	// The subject account becomes TIER_3, as a business account with this
	// much traffic would be: no max balance.
	if _, err := tx.Exec(ctx, `UPDATE ledger.accounts SET tier = 'TIER_3' WHERE id = $1`, subject); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		CREATE TEMP TABLE gen ON COMMIT DROP AS
		WITH g AS (
			SELECT k, k % 2 = 0 AS dep, 10000 + ((k / 2) * 7919) % 5000000 AS d,
				$1::timestamptz + (k * $2::bigint) * interval '1 microsecond' AS at
			FROM generate_series(0, $3::bigint - 1) AS k)
		SELECT k, dep, at, gen_random_uuid() AS tid,
			CASE WHEN dep THEN d ELSE d * 3 / 4 END AS amount,
			sum(CASE WHEN dep THEN d ELSE -(d * 3 / 4) END) OVER w AS subject_after,
			sum(CASE WHEN dep THEN 0 ELSE d * 3 / 4 END) OVER w AS other_after,
			$4::bigint - sum(CASE WHEN dep THEN d ELSE 0 END) OVER w AS system_after
		FROM g WINDOW w AS (ORDER BY k)`, begin, step, n, int64(systemBal))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO ledger.transfers (id, kind, key_owner, reference, request_hash, from_account_id, to_account_id,
			amount, narration, status, created_by, created_at, completed_at)
		SELECT tid, CASE WHEN dep THEN 'deposit' ELSE 'transfer' END,
			CASE WHEN dep THEN $1::uuid ELSE $2::uuid END, 'bench-st-' || k, '\x00'::bytea,
			CASE WHEN dep THEN $3::bigint ELSE $4::bigint END, CASE WHEN dep THEN $4::bigint ELSE $5::bigint END,
			amount, CASE WHEN dep THEN 'salary and sales' ELSE 'supplier ' || (k % 97) END, 'COMPLETED',
			CASE WHEN dep THEN $1::uuid ELSE $2::uuid END, at, at
		FROM gen ORDER BY k`, bank.SystemKeyOwner, owner, system, subject, counterparty)
	if err != nil {
		return fmt.Errorf("transfers: %w", err)
	}
	// Entries in time order, so ids follow each account's chain.
	_, err = tx.Exec(ctx, `
		INSERT INTO ledger.entries (transfer_id, account_id, direction, amount, balance_after, created_at)
		SELECT tid, v.account_id, v.direction, amount, v.after, at
		FROM gen, LATERAL (VALUES
			(CASE WHEN dep THEN $1::bigint ELSE $2::bigint END, 'DEBIT', CASE WHEN dep THEN system_after ELSE subject_after END),
			(CASE WHEN dep THEN $2::bigint ELSE $3::bigint END, 'CREDIT', CASE WHEN dep THEN subject_after ELSE other_after END))
			AS v (account_id, direction, after)
		ORDER BY k, v.direction DESC`, system, subject, counterparty)
	if err != nil {
		return fmt.Errorf("entries: %w", err)
	}
	_, err = tx.Exec(ctx, `
		UPDATE ledger.accounts a SET balance = l.after
		FROM (SELECT DISTINCT ON (account_id) account_id, balance_after AS after
			FROM ledger.entries WHERE account_id IN ($1, $2, $3) ORDER BY account_id, created_at DESC, id DESC) l
		WHERE a.id = l.account_id`, system, subject, counterparty)
	if err != nil {
		return fmt.Errorf("balances: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `VACUUM (ANALYZE) ledger.entries`)
	if err == nil {
		_, err = pool.Exec(ctx, `VACUUM (ANALYZE) ledger.transfers`)
	}
	return err
}

// explain is the balance lookup's plan as the API runs it.
func explain(ctx context.Context, pool *pgxpool.Pool, accountID int64, at time.Time) (string, error) {
	rows, err := pool.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) SELECT coalesce((SELECT balance_after FROM ledger.entries
		WHERE account_id = $1 AND created_at <= $2 ORDER BY created_at DESC, id DESC LIMIT 1), 0)`, accountID, at)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		b.WriteString(line + "\n")
	}
	return b.String(), rows.Err()
}

type statementResult struct {
	bytes     int64
	items     int // JSON and CSV; -1 for PDF
	took      time.Duration
	rssBefore int64 // KiB
	peak      int64 // KiB
}

// statement downloads one statement to the end and reads the API process's
// peak memory over the request.
func statement(ctx context.Context, c *http.Client, base, token, account, from, to, format string, pid int) (statementResult, error) {
	res := statementResult{items: -1}
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return res, fmt.Errorf("reset peak RSS: %w", err)
	}
	var err error
	if res.rssBefore, err = procStatus(pid, "VmRSS"); err != nil {
		return res, err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/accounts/%s/statement?from=%s&to=%s&format=%s", base, account, from, to, format), nil)
	if err != nil {
		return res, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	t := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return res, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return res, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	counter := &lineCounter{}
	var tailBuf tail
	res.bytes, err = io.Copy(io.MultiWriter(counter, &tailBuf), bufio.NewReaderSize(resp.Body, 1<<20))
	res.took = time.Since(t)
	if err != nil {
		return res, err
	}
	switch format {
	case "csv":
		res.items = counter.lines - 1
	case "json":
		// Items are objects whose first member is "id".
		res.items = counter.ids
	case "pdf":
		if !bytes.HasSuffix(bytes.TrimSpace(tailBuf.b), []byte("%%EOF")) {
			return res, errors.New("the PDF does not end with %%EOF")
		}
	}
	if res.peak, err = procStatus(pid, "VmHWM"); err != nil {
		return res, err
	}
	return res, nil
}

type lineCounter struct {
	lines, ids int
	carry      []byte
}

func (l *lineCounter) Write(p []byte) (int, error) {
	l.lines += bytes.Count(p, []byte("\n"))
	buf := append(l.carry, p...)
	l.ids += bytes.Count(buf, []byte(`{"id":`))
	if len(buf) > 8 {
		l.carry = append(l.carry[:0], buf[len(buf)-8:]...)
		// Do not count an "id" that straddles twice: it was counted when
		// whole, and the carry is shorter than the pattern.
		l.ids -= bytes.Count(l.carry, []byte(`{"id":`))
	}
	return len(p), nil
}

type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 64 {
		t.b = append(t.b[:0], t.b[len(t.b)-64:]...)
	}
	return len(p), nil
}

// procStatus reads a kB field of /proc/<pid>/status.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}

func call(ctx context.Context, c *http.Client, method, u, token string, body any, want int) ([]byte, error) {
	var rdr io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rdr)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, raw)
	}
	return raw, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
