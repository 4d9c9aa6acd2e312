package fanout

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/bankcore/bank/bank"
)

// SubscriberBuffer is how many notifications a subscriber may fall behind
// before the hub drops new ones for it. A person reads a handful of
// notifications a minute; a subscriber this far behind has a stuck
// connection, and one stuck client must not delay everyone else's.
const SubscriberBuffer = 32

// redisBuffer is go-redis's queue between the socket and Run. Run only does
// non-blocking sends, so it stays nearly empty; it absorbs bursts while Run
// decodes.
const redisBuffer = 1024

// Hub routes notifications from one Redis pattern subscription to the local
// subscribers of each user. An API instance runs one Hub, and every GraphQL
// subscription of that instance subscribes to it.
type Hub struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	buffer int

	ready     chan struct{}
	readyOnce sync.Once
	started   atomic.Bool

	mu      sync.RWMutex
	stopped bool
	subs    map[string]map[*subscriber]struct{} // by user id
	count   int
}

type subscriber struct {
	userID string
	ch     chan bank.Notification
}

// NewHub returns a Hub for the channels under prefix (the Publisher's
// prefix). It does not connect; Run does.
func NewHub(rdb redis.UniversalClient, prefix string, logger *slog.Logger) *Hub {
	if logger == nil {
		logger = slog.Default()
	}
	return &Hub{
		rdb:    rdb,
		prefix: prefix,
		log:    logger.With("component", "fanout.hub"),
		buffer: SubscriberBuffer,
		ready:  make(chan struct{}),
		subs:   make(map[string]map[*subscriber]struct{}),
	}
}

// Ready is closed once Redis has confirmed the subscription for the first
// time: notifications published from then on reach subscribers.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Subscribe returns a channel of the user's notifications as they are
// published, and a function that ends the subscription. The channel is
// closed, and the subscriber removed, when ctx is done, when the function is
// called (any number of times), or when Run returns. A subscriber that does
// not keep up loses notifications rather than slowing the hub down.
func (h *Hub) Subscribe(ctx context.Context, userID string) (<-chan bank.Notification, func()) {
	s := &subscriber{userID: userID, ch: make(chan bank.Notification, h.buffer)}
	h.mu.Lock()
	if h.stopped || ctx.Err() != nil {
		h.mu.Unlock()
		close(s.ch)
		return s.ch, func() {}
	}
	set := h.subs[userID]
	if set == nil {
		set = make(map[*subscriber]struct{})
		h.subs[userID] = set
	}
	set[s] = struct{}{}
	h.count++
	h.mu.Unlock()

	// AfterFunc rather than a goroutine per subscriber waiting on ctx: an
	// idle subscription then costs no goroutine at all.
	stop := context.AfterFunc(ctx, func() { h.remove(s) })
	return s.ch, func() {
		stop()
		h.remove(s)
	}
}

// remove unregisters s and closes its channel, once. Sends happen under the
// read lock, so closing under the write lock never races a send.
func (h *Hub) remove(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.subs[s.userID]
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	if len(set) == 0 {
		delete(h.subs, s.userID)
	}
	h.count--
	close(s.ch)
}

// Stats returns the number of live subscribers, for metrics and leak tests.
func (h *Hub) Stats() (subscribers int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.count
}

// Run holds the pattern subscription and routes messages until ctx is done,
// then closes every subscriber's channel and returns nil. A hub runs once.
//
// go-redis reconnects and resubscribes by itself (it pings the connection
// every few seconds); notifications published while it is reconnecting are
// not delivered live, which is logged, and clients recover them from
// getNotifications.
func (h *Hub) Run(ctx context.Context) error {
	if !h.started.CompareAndSwap(false, true) {
		return errors.New("fanout: hub is already running or has run")
	}
	defer h.stop()
	// An error here (Redis down at start) is not fatal: the pattern is
	// recorded and the receive loop below keeps dialling until it is up.
	ps := h.rdb.PSubscribe(ctx, pattern(h.prefix))
	defer func() { _ = ps.Close() }()
	msgs := ps.ChannelWithSubscriptions(redis.WithChannelSize(redisBuffer))
	subscribed := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return errors.New("fanout: redis subscription closed")
			}
			switch m := m.(type) {
			case *redis.Message:
				h.dispatch(m)
			case *redis.Subscription:
				if m.Kind != "psubscribe" {
					continue
				}
				subscribed++
				if subscribed == 1 {
					h.log.Info("subscribed", "pattern", m.Channel)
					h.readyOnce.Do(func() { close(h.ready) })
				} else {
					h.log.Warn("resubscribed after losing the Redis connection; notifications published meanwhile were not delivered live",
						"pattern", m.Channel)
				}
			}
		}
	}
}

func (h *Hub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for _, set := range h.subs {
		for s := range set {
			close(s.ch)
		}
	}
	clear(h.subs)
	h.count = 0
}

func (h *Hub) dispatch(m *redis.Message) {
	userID, ok := strings.CutPrefix(m.Channel, Channel(h.prefix, ""))
	if !ok || userID == "" {
		return
	}
	// Most messages are for users connected to another instance: look
	// before paying for the decoding.
	h.mu.RLock()
	n := len(h.subs[userID])
	h.mu.RUnlock()
	if n == 0 {
		return
	}
	note, err := decode(userID, m.Payload)
	if err != nil {
		h.log.Error("dropping malformed notification", "channel", m.Channel, "err", err)
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs[userID] {
		select {
		case s.ch <- note:
		default:
			h.log.Warn("subscriber is not keeping up; notification dropped",
				"user_id", userID, "notification_id", note.ID, "buffer", cap(s.ch))
		}
	}
}
