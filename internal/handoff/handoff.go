// Package handoff passes a posting's outcome from the local activity that
// committed it to the HTTP handler waiting for it in the same process.
//
// POST /transfers starts the transfer workflow with eager start, so in a
// process that runs both the API and the transfers worker (`bank all`,
// `bank serve api,worker`) the workflow's first and only task, and its
// posting local activity, run right here. Once the posting has committed,
// the money has moved and Postgres holds the answer: the handler need not
// wait for the event to be published and the workflow task to complete,
// nor ask the server for the result. The workflow goes on as before.
//
// Nothing depends on a delivery arriving: a process without a local worker
// has no Hub, and a handler whose workflow runs elsewhere (the start was
// not eager, an earlier run of the same key, a replay that skips the
// recorded activity) falls back to waiting on the workflow.
package handoff

import (
	"sync"

	"github.com/bankcore/bank/bank"
)

// Outcome is what the posting activity stored: a completed or refused
// transfer, or the business error it ended with (Err's code says which).
type Outcome struct {
	Transfer bank.Transfer
	Err      error
}

// Hub matches deliveries to waiters by workflow id. The zero value is not
// usable; a nil *Hub is, and never delivers.
type Hub struct {
	mu      sync.Mutex
	waiting map[string]map[chan Outcome]struct{}
}

// New returns an empty Hub.
func New() *Hub { return &Hub{waiting: map[string]map[chan Outcome]struct{}{}} }

// Wait registers interest in id's outcome: the channel gets at most one
// Outcome. stop must be called when the caller stops waiting. On a nil Hub
// the channel is nil (never ready).
func (h *Hub) Wait(id string) (_ <-chan Outcome, stop func()) {
	if h == nil {
		return nil, func() {}
	}
	ch := make(chan Outcome, 1)
	h.mu.Lock()
	set := h.waiting[id]
	if set == nil {
		set = map[chan Outcome]struct{}{}
		h.waiting[id] = set
	}
	set[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if set := h.waiting[id]; set != nil {
			delete(set, ch)
			if len(set) == 0 {
				delete(h.waiting, id)
			}
		}
	}
}

// Deliver hands o to everyone waiting on id now (concurrent requests with
// the same key wait for the one workflow) and forgets them. It never
// blocks; with no one waiting it does nothing.
func (h *Hub) Deliver(id string, o Outcome) {
	if h == nil {
		return
	}
	h.mu.Lock()
	set := h.waiting[id]
	delete(h.waiting, id)
	h.mu.Unlock()
	for ch := range set {
		ch <- o // buffered 1, and each waiter is delivered to once
	}
}

// Waiting is how many ids have waiters (for tests: nothing may leak).
func (h *Hub) Waiting() int {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.waiting)
}
