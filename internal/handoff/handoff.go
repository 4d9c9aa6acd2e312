// Package handoff is the in-process hub that carries a workflow's answer to
// the HTTP handler waiting for it in the same process.
//
// POST /transfers starts the transfer workflow with eager start, so in a
// process that runs both the API and the transfers worker (`bank all`,
// `bank serve api,worker`) the workflow's first and only task, and its local
// activities, run right here. The workflow decides when its caller may be
// answered (its AnswerCaller local activity, after the posting and the
// event); the activity delivers the answer here, and the handler waiting
// under the workflow id answers at once, without waiting for the workflow
// task to complete or asking the server for the result.
//
// Nothing depends on a delivery arriving: where the workflow runs elsewhere
// (the start was not eager, an earlier run of the same key, a replay) nobody
// here waits, the delivery is dropped, and the handler reads the workflow's
// result or the stored row instead.
package handoff

import (
	"sync"

	"github.com/bankcore/bank/bank"
)

// Hub matches deliveries to waiters by workflow id. Use New; a nil *Hub
// never delivers.
type Hub struct {
	mu      sync.Mutex
	waiting map[string]map[chan bank.Answer]struct{}
}

// New returns an empty Hub.
func New() *Hub {
	return &Hub{waiting: map[string]map[chan bank.Answer]struct{}{}}
}

// Wait registers interest in id's answer: the channel gets at most one.
// stop must be called when the caller stops waiting. On a nil Hub the
// channel is nil (never ready).
func (h *Hub) Wait(id string) (_ <-chan bank.Answer, stop func()) {
	if h == nil {
		return nil, func() {}
	}
	ch := make(chan bank.Answer, 1)
	h.mu.Lock()
	set := h.waiting[id]
	if set == nil {
		set = map[chan bank.Answer]struct{}{}
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

// Deliver hands a to everyone waiting on id now (concurrent requests with
// the same key wait for the one workflow) and forgets them. It never
// blocks; with no one waiting it does nothing.
func (h *Hub) Deliver(id string, a bank.Answer) {
	if h == nil {
		return
	}
	h.mu.Lock()
	set := h.waiting[id]
	delete(h.waiting, id)
	h.mu.Unlock()
	for ch := range set {
		ch <- a // buffered 1, and each waiter is delivered to once
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
