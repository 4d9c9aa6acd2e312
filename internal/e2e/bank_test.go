package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bankcore/bank/bank"

	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/testenv"
)

// outcome is what the API answered one transfer request: the money
// movement a client may rely on.
type outcome struct {
	worker     int
	key        string
	from, to   string
	amount     int64 // kobo
	status     int   // first answer's status
	code       string
	id         string
	completed  bool
	replays    int
	resolvedBy string // "" or "poll" when a 202 was resolved by GET /transfers
}

// answer reduces a response to what must repeat on a replay.
type answer struct {
	completed bool
	code      string // refusal code
	id        string
}

// readAnswer interprets a POST /transfers response. A 202 is resolved by
// polling GET /transfers/{key}, as a client would.
func readAnswer(t *testing.T, c *testenv.Client, key string, r testenv.Response) (answer, error) {
	switch r.Status {
	case 201, 200:
		var tr transferBody
		r.Decode(t, &tr)
		if tr.Status != "COMPLETED" || tr.ID == "" || tr.Reference != key {
			return answer{}, fmt.Errorf("key %s: %d with body %s", key, r.Status, r.Body)
		}
		return answer{completed: true, id: tr.ID}, nil
	case 422:
		var p problem
		r.Decode(t, &p)
		return answer{code: p.Code}, nil
	case 202:
		deadline := time.Now().Add(45 * time.Second)
		for time.Now().Before(deadline) {
			g := c.Do("GET", "/transfers/"+key, nil)
			if g.Status == 200 {
				var tr transferBody
				g.Decode(t, &tr)
				switch tr.Status {
				case "COMPLETED":
					return answer{completed: true, id: tr.ID}, nil
				case "FAILED":
					if tr.FailureCode == nil {
						return answer{}, fmt.Errorf("key %s: FAILED without failure_code: %s", key, g.Body)
					}
					return answer{code: *tr.FailureCode}, nil
				}
			} else if g.Status != 404 {
				return answer{}, fmt.Errorf("key %s: poll %d %s", key, g.Status, g.Body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		return answer{}, fmt.Errorf("key %s: still pending after 45 s", key)
	}
	return answer{}, fmt.Errorf("key %s: unexpected %d %s", key, r.Status, r.Body)
}

// TestBankJepsen: many clients move money between a few accounts at once,
// replaying some requests; afterwards the API's own answers must explain
// every balance and every history, and the ledger must audit clean.
func TestBankJepsen(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	const (
		users     = 8
		workers   = 16
		perWorker = 40
		initial   = int64(10_000_00)
		maxAmount = 3_000_00
		maxBal    = int64(300_000_00)
		// budget bounds the load phase on a slow or shared machine: workers
		// start no new transfer after it, and the checks run on what was done.
		budget = 20 * time.Second
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	clients := make([]*testenv.Client, users)
	accounts := make([]string, users)
	owner := map[string]*testenv.Client{}
	for i := range users {
		c, reg := signUp(t, st)
		clients[i], accounts[i] = c, reg.Account.AccountNumber
		owner[accounts[i]] = c
		deposit(t, op, accounts[i], naira(initial))
	}

	var (
		mu       sync.Mutex
		outcomes []*outcome
		statuses = map[int]int{}
	)
	count := func(status int) { mu.Lock(); statuses[status]++; mu.Unlock() }
	var wg sync.WaitGroup
	start := make(chan struct{})
	began := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			user := w % users
			// Each worker is a client of its own (own address, own connections)
			// acting for one user.
			c := st.Client(t)
			c.Token = clients[user].Token
			from := accounts[user]
			var mine []*outcome
			replay := func(o *outcome, first answer) {
				req := transferReq(o.from, o.to, naira(o.amount), "jepsen")
				r := send(c, o.key, req)
				count(r.Status)
				if first.completed && (r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "true") {
					t.Errorf("replay of completed %s = %d (replayed %q) %s", o.key, r.Status, r.Header.Get("Idempotent-Replayed"), r.Body)
					return
				}
				got, err := readAnswer(t, c, o.key, r)
				if err != nil {
					t.Error(err)
					return
				}
				if got != first {
					t.Errorf("replay of %s answered %+v, first answer %+v", o.key, got, first)
				}
				o.replays++
			}
			<-start
			for i := range perWorker {
				if time.Since(began) > budget {
					break
				}
				to := accounts[rng.IntN(users)]
				o := &outcome{
					worker: w, key: fmt.Sprintf("j%02d-%03d-%s", w, i, testenv.Suffix()),
					from: from, to: to, amount: 100 + rng.Int64N(maxAmount-100+1),
				}
				r := send(c, o.key, transferReq(o.from, o.to, naira(o.amount), "jepsen"))
				count(r.Status)
				o.status = r.Status
				if r.Status == 202 {
					o.resolvedBy = "poll"
				}
				a, err := readAnswer(t, c, o.key, r)
				if err != nil {
					t.Error(err)
					continue
				}
				o.completed, o.code, o.id = a.completed, a.code, a.id
				mine = append(mine, o)
				switch p := rng.Float64(); {
				case p < 0.10: // at once
					replay(o, a)
				case p < 0.20: // later, after other transfers changed the balances
					defer replay(o, a)
				}
			}
			mu.Lock()
			outcomes = append(outcomes, mine...)
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	elapsed := time.Since(began)
	if t.Failed() {
		t.FailNow()
	}

	// What the answers say.
	expected := map[string]int64{}
	for _, a := range accounts {
		expected[a] = initial
	}
	completed := map[string]*outcome{} // by key
	ids := map[string]string{}
	codes := map[string]int{}
	replays, polled := 0, 0
	sent := map[string]int64{} // completed debits by sender: all of them, so at least the day's
	for _, o := range outcomes {
		if o.completed {
			sent[o.from] += o.amount
		}
	}
	dailyLimit := int64(*bank.Tier1.Limits().DailyDebit)
	for _, o := range outcomes {
		replays += o.replays
		if o.resolvedBy != "" {
			polled++
		}
		if o.status >= 500 {
			t.Errorf("%s answered %d", o.key, o.status)
		}
		if !o.completed {
			codes[o.code]++
			switch o.code {
			case "SAME_ACCOUNT":
				if o.from != o.to {
					t.Errorf("%s: SAME_ACCOUNT between %s and %s", o.key, o.from, o.to)
				}
			case "INSUFFICIENT_FUNDS":
				if o.from == o.to {
					t.Errorf("%s: %s for a transfer to self", o.key, o.code)
				}
			case "DAILY_LIMIT_EXCEEDED":
				// Two workers send up to 80 transfers of up to 3,000.00 from
				// one TIER_1 account: the day's 100,000.00 can run out. The
				// refusal is right only if what the sender sent (in all,
				// which is at least what it had sent that day) and this
				// amount pass the limit.
				if o.from == o.to || sent[o.from]+o.amount <= dailyLimit {
					t.Errorf("%s: %s for %d after %d sent from %s", o.key, o.code, o.amount, sent[o.from], o.from)
				}
			default:
				// Amounts stay under the single limit and 80,000.00 in all
				// cannot reach a TIER_1 max balance.
				t.Errorf("%s: refused with %q", o.key, o.code)
			}
			continue
		}
		codes["COMPLETED"]++
		if o.from == o.to {
			t.Errorf("%s: a transfer to self completed", o.key)
		}
		if other, dup := ids[o.id]; dup {
			t.Errorf("transfer id %s answered for keys %s and %s", o.id, other, o.key)
		}
		ids[o.id] = o.key
		completed[o.key] = o
		expected[o.from] -= o.amount
		expected[o.to] += o.amount
	}
	if len(outcomes) < workers*perWorker {
		t.Logf("the %v budget ran out after %d of %d transfers", budget, len(outcomes), workers*perWorker)
	}
	if len(outcomes) < workers*5 {
		t.Fatalf("only %d transfers in %v: too few to test anything", len(outcomes), elapsed)
	}
	t.Logf("%d transfers + %d replays in %v (%.0f requests/s): outcomes %v, statuses %v, %d resolved by polling",
		len(outcomes), replays, elapsed.Round(time.Millisecond),
		float64(len(outcomes)+replays)/elapsed.Seconds(), codes, statuses, polled)
	if codes["COMPLETED"] < len(outcomes)/3 {
		t.Errorf("only %d of %d transfers completed: the test exercised little", codes["COMPLETED"], len(outcomes))
	}

	// What the bank says.
	var total int64
	for _, acct := range accounts {
		c := owner[acct]
		got := kobo(t, balance(t, c, acct))
		total += got
		if got != expected[acct] {
			t.Errorf("account %s: balance %s, the API's answers imply %s", acct, naira(got), naira(expected[acct]))
		}
		if got < 0 || got > maxBal {
			t.Errorf("account %s: balance %s outside [0, %s]", acct, naira(got), naira(maxBal))
		}

		// The history, oldest first, replays to the balance, and holds
		// exactly the completed transfers touching the account.
		h := history(t, c, acct, 100)
		var running int64
		seen := map[string]int{}
		for i := len(h) - 1; i >= 0; i-- {
			e := h[i]
			amt := kobo(t, e.Amount)
			switch e.Direction {
			case "CREDIT":
				running += amt
			case "DEBIT":
				running -= amt
			default:
				t.Fatalf("direction %q", e.Direction)
			}
			if after := kobo(t, e.BalanceAfter); after != running {
				t.Errorf("account %s entry %s: balance_after %s, running sum %s", acct, e.ID, e.BalanceAfter, naira(running))
			}
			if running < 0 || running > maxBal {
				t.Errorf("account %s went to %s", acct, naira(running))
			}
			if i == len(h)-1 {
				if e.Direction != "CREDIT" || amt != initial || e.CounterpartyAccount != "0000000000" {
					t.Errorf("account %s: first entry %+v is not the funding deposit", acct, e)
				}
				continue
			}
			o := completed[e.TransferReference]
			if o == nil {
				t.Errorf("account %s: entry %+v for no completed answer", acct, e)
				continue
			}
			seen[e.TransferReference+"/"+e.Direction]++
			wantDir, wantCP := "DEBIT", o.to
			if o.to == acct {
				wantDir, wantCP = "CREDIT", o.from
			}
			if e.Direction != wantDir || amt != o.amount || e.CounterpartyAccount != wantCP || e.Narration != "jepsen" {
				t.Errorf("account %s: entry %+v does not match answer %+v", acct, e, *o)
			}
		}
		if running != got {
			t.Errorf("account %s: history sums to %s, balance %s", acct, naira(running), naira(got))
		}
		for key, o := range completed {
			if o.from == acct && seen[key+"/DEBIT"] != 1 {
				t.Errorf("completed %s appears %d times in the sender's history", key, seen[key+"/DEBIT"])
			}
			if o.to == acct && seen[key+"/CREDIT"] != 1 {
				t.Errorf("completed %s appears %d times in the receiver's history", key, seen[key+"/CREDIT"])
			}
		}
	}
	if total != users*initial {
		t.Errorf("customers hold %s in all, deposits were %s", naira(total), naira(users*initial))
	}
	assertAudit(t, st)
}

// TestHotAccount: many transfers drain one account at once; exactly as many
// as the balance covers complete, and it never goes below zero.
func TestHotAccount(t *testing.T) {
	st := testenv.SharedStack(t)
	op := operator(t, st)
	hot, hReg := signUp(t, st)
	h := hReg.Account.AccountNumber
	var receivers []string
	var receiverClients []*testenv.Client
	for range 4 {
		c, reg := signUp(t, st)
		receivers = append(receivers, reg.Account.AccountNumber)
		receiverClients = append(receiverClients, c)
	}
	deposit(t, op, h, "1000.00")

	const n = 40
	answers := make([]testenv.Response, n)
	keys := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		keys[i] = fmt.Sprintf("hot-%02d-%s", i, testenv.Suffix())
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := st.Client(t)
			c.Token = hot.Token
			<-start
			answers[i] = send(c, keys[i], transferReq(h, receivers[i%len(receivers)], "100.00", "hot"))
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d concurrent transfers in %v", n, time.Since(began).Round(time.Millisecond))

	completed, refused := 0, 0
	credited := map[string]int64{}
	ids := map[string]bool{}
	for i, r := range answers {
		switch r.Status {
		case 201:
			tr := wantTransfer(t, r, 201)
			if tr.Amount != "100.00" || tr.Reference != keys[i] || ids[tr.ID] {
				t.Errorf("answer %d = %s", i, r.Body)
			}
			ids[tr.ID] = true
			credited[tr.ToAccount] += 100_00
			completed++
		case 422:
			wantProblem(t, r, 422, "INSUFFICIENT_FUNDS")
			refused++
		default:
			t.Errorf("answer %d = %d %s", i, r.Status, r.Body)
		}
	}
	if completed != 10 || refused != 30 {
		t.Fatalf("%d completed and %d refused, want 10 and 30", completed, refused)
	}
	wantBalance(t, hot, h, "0.00")
	for i, acct := range receivers {
		wantBalance(t, receiverClients[i], acct, naira(credited[acct]))
	}
	// The hot account's history steps down by 100.00 to zero, never below.
	hist := history(t, hot, h, 100)
	if len(hist) != 11 {
		t.Fatalf("hot history has %d entries, want 11", len(hist))
	}
	for i, e := range hist[:10] {
		if e.Direction != "DEBIT" || e.Amount != "100.00" || e.BalanceAfter != naira(int64(i)*100_00) {
			t.Errorf("entry %d = %+v", i, e)
		}
	}
	assertAudit(t, st)
}

// assertAudit runs the ledger audit of the stack's database.
func assertAudit(t *testing.T, st *testenv.Stack) {
	t.Helper()
	withStores(t, st, func(ctx context.Context, pool *pgxpool.Pool) {
		a, err := postgres.NewLedger(pool).RunAudit(ctx)
		if err != nil {
			t.Fatalf("audit: %v", err)
		}
		sort.Strings(a.Mismatched)
		if a.Total != 0 || len(a.Mismatched) != 0 || len(a.Negative) != 0 || len(a.AboveMax) != 0 ||
			a.CompletedMissing != 0 || a.FailedWithEntry != 0 || a.CompletedPosted == 0 {
			t.Fatalf("audit = %+v", a)
		}
	})
}
