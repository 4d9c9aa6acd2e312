// Package handoff passes a posting's outcome from the local activities that
// produced it to the HTTP handler waiting for it in the same process.
//
// POST /transfers starts the transfer workflow with eager start, so in a
// process that runs both the API and the transfers worker (`bank all`,
// `bank serve api,worker`) the workflow's first and only task, and its
// local activities, run right here. The posting holds its outcome (Hold);
// the event's publish, once RabbitMQ has confirmed it, releases it
// (Release): the handler answers then, without waiting for the workflow
// task to complete or asking the server for the result, and the client's
// answer never comes before its notification is on its way. An outcome no
// event follows (a business error, a refused deposit) is delivered at once
// (Deliver).
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
	held    map[string]Outcome // held for waiters, until Release
}

// New returns an empty Hub.
func New() *Hub {
	return &Hub{waiting: map[string]map[chan Outcome]struct{}{}, held: map[string]Outcome{}}
}

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
				delete(h.held, id)
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

// Hold keeps o for id's waiters until Release(id). Without waiters it
// keeps nothing, so outcomes of workflows started elsewhere never pile up.
func (h *Hub) Hold(id string, o Outcome) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.waiting[id]) > 0 {
		h.held[id] = o
	}
}

// Release delivers what Hold kept for id, if anything.
func (h *Hub) Release(id string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	o, ok := h.held[id]
	delete(h.held, id)
	h.mu.Unlock()
	if ok {
		h.Deliver(id, o)
	}
}

// Waiting is how many ids have waiters or held outcomes (for tests:
// nothing may leak).
func (h *Hub) Waiting() int {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.waiting) + len(h.held)
}
