package system

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/bench/internal/loop"
)

// Done is a transfer the API answered 201.
type Done struct {
	Ref      string
	From, To int // user indexes
	Amount   bank.Money
	Start    time.Time
	At201    time.Time // zero when the outcome was learnt afterwards
	Phase    string
}

// Tracker remembers what every answer implies, for the invariants and for
// matching notifications to the 201 that preceded them.
type Tracker struct {
	mu        sync.Mutex
	completed []Done
	unknown   []Done // answers that do not say whether money moved (timeouts, 5xx, 202)
	refused   int
}

// Completed returns the transfers known to have completed.
func (t *Tracker) Completed() []Done {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Done(nil), t.completed...)
}

// Transfers makes the POST /transfers operation of one phase: uniform picks
// a random sender and receiver among users, hot sends from user 0.
func Transfers(c *Client, base string, users []User, mode, phase string, tr *Tracker) loop.Op {
	return func(ctx context.Context, w, seq int) (string, bool, bool) {
		n := len(users)
		from := 0
		if mode == "uniform" {
			from = rand.IntN(n)
		}
		to := (from + 1 + rand.IntN(n-1)) % n
		amount := bank.Money(100 + rand.Int64N(901)) // 1.00 to 10.00
		ref := phase + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(seq)
		d := Done{Ref: ref, From: from, To: to, Amount: amount, Start: time.Now(), Phase: phase}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		status, raw, err := c.Do(cctx, "POST", base+"/transfers", users[from].Token, map[string]string{
			"reference": ref, "from_account": users[from].Account, "to_account": users[to].Account,
			"amount": amount.String(), "currency": "NGN", "narration": "bench",
		})
		now := time.Now()
		tr.mu.Lock()
		defer tr.mu.Unlock()
		switch {
		case err != nil:
			tr.unknown = append(tr.unknown, d)
			return "transport error", true, false
		case status == 201:
			d.At201 = now
			tr.completed = append(tr.completed, d)
			return "201", false, false
		case status == 422:
			tr.refused++
			return "422 " + code(raw), false, true
		default:
			if status >= 500 || status == 202 || status == 429 {
				tr.unknown = append(tr.unknown, d)
			}
			label := strconv.Itoa(status)
			if c := code(raw); c != "" {
				label += " " + c
			}
			return label, true, false
		}
	}
}
