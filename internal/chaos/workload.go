package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/testsvc"
)

// The workload: funded customers, clients sending random transfers (and an
// operator sending deposits) that retry with the same key after a timeout,
// a connection error, a 5xx or a 202 until they get a final answer, and
// readers of balances and histories. Every answer is recorded for the
// checker.

// customer is one registered user with one TIER_1 account.
type customer struct {
	UserID   string
	Email    string
	Password string
	Account  string
	Token    string
}

// answer is a final answer to a key: what must repeat on every retry.
type answer struct {
	Status     int
	Completed  bool
	ID         string // transfer id of a completed answer
	Code       string // refusal code of a 422
	Replay     bool   // the answer came with Idempotent-Replayed: true
	Deliberate bool   // answer to a deliberate later replay
}

func (a answer) outcome() string {
	if a.Completed {
		return "COMPLETED " + a.ID
	}
	return "REFUSED " + a.Code
}

// keyRecord is everything a client did and saw for one idempotency key.
type keyRecord struct {
	Key       string
	Kind      bank.TransferKind
	KeyOwner  string // the sender's user id; bank.SystemKeyOwner for deposits
	From, To  string
	Amount    bank.Money
	Narration string
	Setup     bool // an initial funding deposit

	Attempts     int
	Timeouts     int
	ConnErrors   int
	ServerErrors int // 5xx and 429
	Pending      int // 202
	Answers      []answer
	Anomalies    []string // answers no correct bank gives (wrong body, unexpected 4xx)
	Unresolved   bool     // no final answer before the deadline
	ReplayLost   bool     // a deliberate replay got no answer before the deadline
}

// inDoubt: the client did not know the outcome at some point and retried.
func (k *keyRecord) inDoubt() bool { return k.Timeouts+k.ConnErrors+k.ServerErrors+k.Pending > 0 }

func (k *keyRecord) final() (answer, bool) {
	for _, a := range k.Answers {
		if !a.Deliberate {
			return a, true
		}
	}
	return answer{}, false
}

// observedEntry is one history item a reader saw.
type observedEntry struct {
	Account      string
	ID           int64
	Reference    string
	Direction    string
	Amount       bank.Money
	BalanceAfter bank.Money
}

// WorkloadOptions size the workload.
type WorkloadOptions struct {
	Customers       int
	Clients         int // transfer clients
	Readers         int
	InitialBalance  bank.Money
	ThinkMin        time.Duration
	ThinkMax        time.Duration
	DepositEvery    time.Duration
	ReplayFraction  float64
	AttemptTimeouts [2]time.Duration // per-attempt client timeout, uniform in [min, max]
	// ImpatientFraction of attempts use ImpatientTimeouts instead: shorter
	// than a transfer takes, so the retry meets the first request in flight.
	ImpatientFraction float64
	ImpatientTimeouts [2]time.Duration
}

type counters struct {
	requests, timeouts, connErrors atomic.Int64
	byStatus                       sync.Map // int → *atomic.Int64
	balanceReads, historyReads     atomic.Int64
	readErrors                     atomic.Int64
}

func (c *counters) status(s int) {
	v, _ := c.byStatus.LoadOrStore(s, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (c *counters) statuses() map[int]int64 {
	out := map[int]int64{}
	c.byStatus.Range(func(k, v any) bool { out[k.(int)] = v.(*atomic.Int64).Load(); return true })
	return out
}

// Workload drives the bank through its two API instances.
type Workload struct {
	opts   WorkloadOptions
	apis   []string
	seed   uint64
	runID  string
	events *eventLog

	customers []*customer
	operator  string // operator token
	maxByAcct map[string]bank.Money

	stats counters

	mu         sync.Mutex
	keys       []*keyRecord
	observed   map[int64]observedEntry
	readIssues []readIssue

	stop    chan struct{} // closed: no new keys, readers stop
	giveUp  atomic.Int64  // unix nanos after which clients give up on a key; 0 = never
	wg      sync.WaitGroup
	started time.Time
}

func newWorkload(opts WorkloadOptions, apis []string, seed uint64, events *eventLog) *Workload {
	return &Workload{opts: opts, apis: apis, seed: seed, runID: testsvc.Suffix()[:6], events: events,
		observed: map[int64]observedEntry{}, stop: make(chan struct{}), maxByAcct: map[string]bank.Money{}}
}

// ---- HTTP ----

type reply struct {
	status  int
	body    []byte
	header  http.Header
	err     error
	timeout bool
}

func newHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}}
}

func (w *Workload) send(ctx context.Context, hc *http.Client, api int, method, path, token string, body any,
	key string, timeout time.Duration) reply {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rdr io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return reply{err: err}
		}
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.apis[api]+path, rdr)
	if err != nil {
		return reply{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	failed := func(err error) reply {
		r := reply{err: err, timeout: errors.Is(err, context.DeadlineExceeded) || isTimeout(err)}
		if r.timeout {
			w.stats.timeouts.Add(1)
		} else {
			w.stats.connErrors.Add(1)
		}
		return r
	}
	w.stats.requests.Add(1)
	resp, err := hc.Do(req)
	if err != nil {
		return failed(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return failed(err)
	}
	w.stats.status(resp.StatusCode)
	return reply{status: resp.StatusCode, body: raw, header: resp.Header}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

type transferBody struct {
	ID          string  `json:"id"`
	Reference   string  `json:"reference"`
	Status      string  `json:"status"`
	FromAccount string  `json:"from_account"`
	ToAccount   string  `json:"to_account"`
	Amount      string  `json:"amount"`
	FailureCode *string `json:"failure_code"`
}

type problemBody struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

var refusalCodes = map[string]bool{
	string(bank.CodeInsufficientFunds): true, string(bank.CodeSingleLimit): true, string(bank.CodeDailyLimit): true,
	string(bank.CodeReceiverLimit): true, string(bank.CodeSameAccount): true,
	string(bank.CodeIdempotencyReused): true, // never right here: the checker flags it
}

// resolve sends the key's request until it gets a final answer (201, 200,
// 422) or the give-up deadline passes. Timeouts, connection errors, 5xx,
// 429 and 202 are retried with the same key and body, against a random API
// instance (the other one after a connection error).
func (w *Workload) resolve(ctx context.Context, hc *http.Client, rng *rand.Rand, k *keyRecord, token string, deliberate bool) {
	path, body := "/transfers", any(map[string]string{
		"from_account": k.From, "to_account": k.To, "amount": k.Amount.String(), "currency": bank.Currency,
		"narration": k.Narration,
	})
	if k.Kind == bank.KindDeposit {
		path = "/accounts/" + k.To + "/deposits"
		body = map[string]string{"amount": k.Amount.String(), "narration": k.Narration}
	}
	api := rng.IntN(len(w.apis))
	backoff := 100 * time.Millisecond
	for {
		if g := w.giveUp.Load(); (g != 0 && time.Now().UnixNano() > g) || ctx.Err() != nil {
			if deliberate {
				k.ReplayLost = true
			} else {
				k.Unresolved = true
			}
			return
		}
		lo, hi := w.opts.AttemptTimeouts[0], w.opts.AttemptTimeouts[1]
		if rng.Float64() < w.opts.ImpatientFraction {
			// An impatient client: it gives up while the bank is still
			// working, and its retry races the first request.
			lo, hi = w.opts.ImpatientTimeouts[0], w.opts.ImpatientTimeouts[1]
		}
		timeout := lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
		r := w.send(ctx, hc, api, http.MethodPost, path, token, body, k.Key, timeout)
		k.Attempts++
		switch {
		case r.err != nil && r.timeout:
			k.Timeouts++
		case r.err != nil:
			k.ConnErrors++
			api = (api + 1) % len(w.apis)
		case r.status == http.StatusCreated || r.status == http.StatusOK:
			var t transferBody
			if err := json.Unmarshal(r.body, &t); err != nil || t.Status != string(bank.StatusCompleted) || t.ID == "" ||
				t.Reference != k.Key || t.Amount != k.Amount.String() || t.ToAccount != k.To || t.FromAccount != k.From {
				k.Anomalies = append(k.Anomalies, fmt.Sprintf("%d with body %s", r.status, r.body))
				return
			}
			replayed := r.header.Get("Idempotent-Replayed") == "true"
			if r.status == http.StatusOK && !replayed {
				k.Anomalies = append(k.Anomalies, "200 without Idempotent-Replayed: true")
			}
			k.Answers = append(k.Answers, answer{Status: r.status, Completed: true, ID: t.ID, Replay: replayed, Deliberate: deliberate})
			return
		case r.status == http.StatusUnprocessableEntity:
			var p problemBody
			if err := json.Unmarshal(r.body, &p); err != nil || !refusalCodes[p.Code] {
				k.Anomalies = append(k.Anomalies, fmt.Sprintf("422 with body %s", r.body))
				return
			}
			k.Answers = append(k.Answers, answer{Status: r.status, Code: p.Code,
				Replay: r.header.Get("Idempotent-Replayed") == "true", Deliberate: deliberate})
			return
		case r.status == http.StatusAccepted:
			k.Pending++
		case r.status >= 500 || r.status == http.StatusTooManyRequests:
			k.ServerErrors++
		default:
			k.Anomalies = append(k.Anomalies, fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body)))
			return
		}
		jitter := time.Duration(rng.Int64N(int64(backoff)/2 + 1))
		select {
		case <-ctx.Done():
		case <-time.After(backoff + jitter):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// ---- setup ----

// setup registers the customers, logs everyone in and funds each account
// with a deposit (recorded like any other key).
func (w *Workload) setup(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(w.seed, 999)) // #nosec G404 -- seeded on purpose, to reproduce a run
	hc := newHTTPClient()
	tok, err := w.login(ctx, hc, operatorEmail, operatorPassword)
	if err != nil {
		return fmt.Errorf("operator login: %w", err)
	}
	w.operator = tok

	w.customers = make([]*customer, w.opts.Customers)
	errs := make([]error, w.opts.Customers)
	var wg sync.WaitGroup
	for i := range w.opts.Customers {
		c := &customer{
			Email:    fmt.Sprintf("chaos-%s-%02d@example.com", w.runID, i),
			Password: "chaos-password-" + w.runID,
		}
		nin := fmt.Sprintf("%07d%04d", rng.IntN(10_000_000), 1000+i)
		phone := fmt.Sprintf("0803%07d", rng.IntN(10_000_000))
		w.customers[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.register(ctx, newHTTPClient(), c, nin, phone, i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// Funding is retried like any key, but not for ever.
	w.giveUp.Store(time.Now().Add(90 * time.Second).UnixNano())
	defer w.giveUp.Store(0)
	limits := bank.Tier("TIER_1").Limits()
	for _, c := range w.customers {
		if limits.MaxBalance != nil {
			w.maxByAcct[c.Account] = *limits.MaxBalance
		}
		k := &keyRecord{Key: fmt.Sprintf("fund-%s-%s", w.runID, c.Account), Kind: bank.KindDeposit,
			KeyOwner: bank.SystemKeyOwner, From: systemAccount, To: c.Account, Amount: w.opts.InitialBalance,
			Narration: "chaos funding", Setup: true}
		w.resolve(ctx, hc, rng, k, w.operator, false)
		w.record(k)
		if a, ok := k.final(); !ok || !a.Completed {
			return fmt.Errorf("funding %s: %+v %v", c.Account, k.Answers, k.Anomalies)
		}
	}
	return nil
}

const systemAccount = "0000000000"

func (w *Workload) register(ctx context.Context, hc *http.Client, c *customer, nin, phone string, i int) error {
	body := map[string]any{"email": c.Email, "password": c.Password, "full_name": fmt.Sprintf("Chaos Customer %d", i),
		"phone": phone, "kyc": map[string]string{"type": "NIN", "number": nin}}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r := w.send(ctx, hc, i%len(w.apis), http.MethodPost, "/auth/register", "", body, "", 15*time.Second)
		if r.err == nil && r.status == http.StatusCreated {
			var out struct {
				User    struct{ ID string } `json:"user"`
				Account struct {
					AccountNumber string `json:"account_number"`
				} `json:"account"`
			}
			if err := json.Unmarshal(r.body, &out); err != nil || out.User.ID == "" || out.Account.AccountNumber == "" {
				return fmt.Errorf("register %s: %s", c.Email, r.body)
			}
			c.UserID, c.Account = out.User.ID, out.Account.AccountNumber
			tok, err := w.login(ctx, hc, c.Email, c.Password)
			c.Token = tok
			return err
		}
		if r.err == nil && r.status != http.StatusAccepted && r.status < 500 {
			return fmt.Errorf("register %s: %d %s", c.Email, r.status, r.body)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("register %s: no answer within a minute", c.Email)
}

func (w *Workload) login(ctx context.Context, hc *http.Client, email, password string) (string, error) {
	var last string
	for attempt := range 20 {
		r := w.send(ctx, hc, attempt%len(w.apis), http.MethodPost, "/auth/login", "",
			map[string]string{"email": email, "password": password}, "", 10*time.Second)
		if r.err == nil && r.status == http.StatusOK {
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(r.body, &tok); err != nil || tok.AccessToken == "" {
				return "", fmt.Errorf("login body %s", r.body)
			}
			return tok.AccessToken, nil
		}
		last = fmt.Sprintf("%d %v %s", r.status, r.err, r.body)
		time.Sleep(500 * time.Millisecond)
	}
	return "", fmt.Errorf("login %s: %s", email, last)
}

func (w *Workload) record(k *keyRecord) {
	w.mu.Lock()
	w.keys = append(w.keys, k)
	w.mu.Unlock()
}

// ---- the run ----

// start launches the clients, the depositor and the readers.
func (w *Workload) start(ctx context.Context) {
	w.started = time.Now()
	for i := range w.opts.Clients {
		w.wg.Add(1)
		go func() { defer w.wg.Done(); w.client(ctx, i) }()
	}
	w.wg.Add(1)
	go func() { defer w.wg.Done(); w.depositor(ctx) }()
	for i := range w.opts.Readers {
		w.wg.Add(1)
		go func() { defer w.wg.Done(); w.reader(ctx, i) }()
	}
}

// finish stops new keys and reads; clients keep retrying the keys they hold
// until they resolve or giveUp passes. It returns once every client is done.
func (w *Workload) finish(giveUp time.Time) {
	w.giveUp.Store(giveUp.UnixNano())
	close(w.stop)
	w.wg.Wait()
}

func (w *Workload) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

func (w *Workload) think(ctx context.Context, rng *rand.Rand, lo, hi time.Duration) {
	d := lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	select {
	case <-ctx.Done():
	case <-w.stop:
	case <-time.After(d):
	}
}

// client sends transfers from one customer's account to random others,
// and now and then replays an earlier key, which must answer the same.
func (w *Workload) client(ctx context.Context, i int) {
	rng := rand.New(rand.NewPCG(w.seed, uint64(i)+1)) // #nosec G404 G115 -- seeded on purpose
	hc := newHTTPClient()
	me := w.customers[i%len(w.customers)]
	type pendingReplay struct {
		k   *keyRecord
		due time.Time
	}
	var replays []pendingReplay
	for n := 0; !w.stopped() && ctx.Err() == nil; n++ {
		if len(replays) > 0 && time.Now().After(replays[0].due) {
			k := replays[0].k
			replays = replays[1:]
			w.resolve(ctx, hc, rng, k, me.Token, true)
			w.think(ctx, rng, w.opts.ThinkMin, w.opts.ThinkMax)
			continue
		}
		// Another customer's account; a transfer to itself only on purpose.
		to := w.customers[(i%len(w.customers)+1+rng.IntN(len(w.customers)-1))%len(w.customers)].Account
		var amount bank.Money
		switch p := rng.Float64(); {
		case p < 0.04: // over TIER_1's single limit of 50,000.00
			amount = bank.Money(5_000_001 + rng.Int64N(2_000_000))
		case p < 0.08: // to itself
			to = me.Account
			amount = bank.Money(100 + rng.Int64N(100_000))
		case p < 0.15: // large: runs into short funds and full receivers
			amount = bank.Money(1_500_000 + rng.Int64N(3_500_000))
		default:
			amount = bank.Money(100 + rng.Int64N(1_500_000))
		}
		k := &keyRecord{Key: fmt.Sprintf("t%02d-%05d-%s", i, n, w.runID), Kind: bank.KindTransfer, KeyOwner: me.UserID,
			From: me.Account, To: to, Amount: amount, Narration: "chaos"}
		w.record(k)
		w.resolve(ctx, hc, rng, k, me.Token, false)
		if _, ok := k.final(); ok && rng.Float64() < w.opts.ReplayFraction {
			replays = append(replays, pendingReplay{k: k, due: time.Now().Add(time.Duration(1+rng.IntN(20)) * time.Second)})
		}
		w.think(ctx, rng, w.opts.ThinkMin, w.opts.ThinkMax)
	}
}

// depositor is the operator paying money in now and then; receivers near
// their max balance refuse it.
func (w *Workload) depositor(ctx context.Context) {
	rng := rand.New(rand.NewPCG(w.seed, 777)) // #nosec G404 -- seeded on purpose
	hc := newHTTPClient()
	for n := 0; !w.stopped() && ctx.Err() == nil; n++ {
		w.think(ctx, rng, w.opts.DepositEvery/2, w.opts.DepositEvery*3/2)
		if w.stopped() {
			return
		}
		to := w.customers[rng.IntN(len(w.customers))].Account
		k := &keyRecord{Key: fmt.Sprintf("d-%05d-%s", n, w.runID), Kind: bank.KindDeposit, KeyOwner: bank.SystemKeyOwner,
			From: systemAccount, To: to, Amount: bank.Money(50_000 + rng.Int64N(950_000)), Narration: "chaos deposit"}
		w.record(k)
		w.resolve(ctx, hc, rng, k, w.operator, false)
	}
}

type accountBody struct {
	AccountNumber string `json:"account_number"`
	Balance       string `json:"balance"`
}

type historyBody struct {
	Items []struct {
		ID                string `json:"id"`
		TransferReference string `json:"transfer_reference"`
		Direction         string `json:"direction"`
		Amount            string `json:"amount"`
		BalanceAfter      string `json:"balance_after"`
	} `json:"items"`
}

// reader reads balances and histories (as the operator, who may read any
// account) and checks what it sees: balances within the tier, and each
// history page chaining balance_after from entry to entry.
func (w *Workload) reader(ctx context.Context, i int) {
	rng := rand.New(rand.NewPCG(w.seed, 500+uint64(i))) // #nosec G404 G115 -- seeded on purpose
	hc := newHTTPClient()
	for !w.stopped() && ctx.Err() == nil {
		acct := w.customers[rng.IntN(len(w.customers))].Account
		api := rng.IntN(len(w.apis))
		ceiling := w.maxByAcct[acct]
		if rng.IntN(2) == 0 {
			r := w.send(ctx, hc, api, http.MethodGet, "/accounts/"+acct, w.operator, nil, "", 3*time.Second)
			if r.err != nil || r.status != http.StatusOK {
				w.stats.readErrors.Add(1)
				w.think(ctx, rng, 200*time.Millisecond, 500*time.Millisecond)
				continue
			}
			w.stats.balanceReads.Add(1)
			var a accountBody
			bal, err := bank.Money(0), json.Unmarshal(r.body, &a)
			if err == nil {
				bal, err = bank.ParseMoney(a.Balance)
			}
			if err != nil || bal < 0 || (ceiling > 0 && bal > ceiling) {
				w.readIssue(true, fmt.Sprintf("account %s read with balance %q (%v)", acct, a.Balance, err))
			}
		} else {
			limit := 10 + rng.IntN(41)
			r := w.send(ctx, hc, api, http.MethodGet, "/accounts/"+acct+"/transactions?limit="+strconv.Itoa(limit),
				w.operator, nil, "", 3*time.Second)
			if r.err != nil || r.status != http.StatusOK {
				w.stats.readErrors.Add(1)
				w.think(ctx, rng, 200*time.Millisecond, 500*time.Millisecond)
				continue
			}
			w.stats.historyReads.Add(1)
			w.checkHistory(acct, ceiling, r.body)
		}
		w.think(ctx, rng, 50*time.Millisecond, 250*time.Millisecond)
	}
}

func (w *Workload) checkHistory(acct string, ceiling bank.Money, raw []byte) {
	var h historyBody
	if err := json.Unmarshal(raw, &h); err != nil {
		w.readIssue(false, fmt.Sprintf("account %s history is not JSON: %v", acct, err))
		return
	}
	seen := make([]observedEntry, 0, len(h.Items))
	for _, it := range h.Items {
		id, err1 := strconv.ParseInt(it.ID, 10, 64)
		amt, err2 := bank.ParseMoney(it.Amount)
		after, err3 := bank.ParseMoney(it.BalanceAfter)
		if err := errors.Join(err1, err2, err3); err != nil {
			w.readIssue(false, fmt.Sprintf("account %s entry %+v: %v", acct, it, err))
			return
		}
		seen = append(seen, observedEntry{Account: acct, ID: id, Reference: it.TransferReference,
			Direction: it.Direction, Amount: amt, BalanceAfter: after})
	}
	for j, e := range seen {
		if e.BalanceAfter < 0 || (ceiling > 0 && e.BalanceAfter > ceiling) {
			w.readIssue(true, fmt.Sprintf("account %s entry %d (transfer %s): balance_after %s outside the tier", acct, e.ID, e.Reference, e.BalanceAfter))
		}
		if j+1 < len(seen) {
			older := seen[j+1]
			delta := e.Amount
			if e.Direction == "DEBIT" {
				delta = -delta
			}
			if older.ID >= e.ID || older.BalanceAfter+delta != e.BalanceAfter {
				w.readIssue(false, fmt.Sprintf("account %s history does not chain: entry %d (transfer %s, %s %s, after %s) follows entry %d (transfer %s, after %s)",
					acct, e.ID, e.Reference, e.Direction, e.Amount, e.BalanceAfter, older.ID, older.Reference, older.BalanceAfter))
			}
		}
	}
	w.mu.Lock()
	for _, e := range seen {
		w.observed[e.ID] = e
	}
	w.mu.Unlock()
}

// readIssue is something a reader saw that a correct bank never shows.
type readIssue struct {
	Range bool // a balance outside its tier (else: a broken history page)
	Text  string
}

func (w *Workload) readIssue(outOfRange bool, s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.readIssues) < 1000 {
		w.readIssues = append(w.readIssues, readIssue{Range: outOfRange, Text: s})
	}
}
