// Package broker measures RabbitMQ: the raw baseline (persistent messages
// published with confirms by concurrent publishers on one confirm channel,
// as our publisher does, and consumed with manual ack and prefetch 64, as
// our consumer does), and the bank's notifier draining a burst of events
// published by the bank's own publisher.
package broker

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/bench/internal/loop"
	"github.com/bankcore/bank/bench/internal/stats"
	"github.com/bankcore/bank/internal/rabbitmq"
)

// Raw is the baseline's result.
type Raw struct {
	Publishers     int           `json:"publishers"`
	Prefetch       int           `json:"prefetch"`
	BodyBytes      int           `json:"body_bytes"`
	Publish        stats.Summary `json:"publish_confirmed"` // per confirmed publish
	Published      int           `json:"published"`
	Consumed       int           `json:"consumed"`
	ConsumeRate    float64       `json:"consumed_per_sec"` // over the publishing time
	EndToEndP50ms  float64       `json:"end_to_end_p50_ms"`
	EndToEndP99ms  float64       `json:"end_to_end_p99_ms"`
	DrainedAfterMs float64       `json:"drained_after_ms"` // time after the last publish until every message was consumed
}

// RunRaw publishes for warmup+duration with n concurrent publishers while
// one consumer acks, on an exchange and queue of its own (deleted after).
func RunRaw(ctx context.Context, url, suffix string, n int, warmup, duration time.Duration) (Raw, error) {
	res := Raw{Publishers: n, Prefetch: 64, BodyBytes: 400}
	exchange, queue := "bench.raw-"+suffix, "bench.raw-"+suffix
	conn, err := amqp.Dial(url)
	if err != nil {
		return res, err
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return res, err
	}
	if err := ch.ExchangeDeclare(exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return res, err
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		return res, err
	}
	defer func() {
		_, _ = ch.QueueDelete(queue, false, false, false)
		_ = ch.ExchangeDelete(exchange, false, false)
	}()
	if err := ch.QueueBind(queue, "#", exchange, false, nil); err != nil {
		return res, err
	}

	// Consumer on its own connection, as the notifier has.
	cconn, err := amqp.Dial(url)
	if err != nil {
		return res, err
	}
	defer func() { _ = cconn.Close() }()
	cch, err := cconn.Channel()
	if err != nil {
		return res, err
	}
	if err := cch.Qos(res.Prefetch, 0, false); err != nil {
		return res, err
	}
	deliveries, err := cch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		return res, err
	}
	var consumed atomic.Int64
	var e2eMu sync.Mutex
	var e2e []time.Duration
	lastConsumed := atomic.Int64{}
	go func() {
		for d := range deliveries {
			if len(d.Body) >= 8 {
				sent := time.Unix(0, int64(binary.BigEndian.Uint64(d.Body)))
				e2eMu.Lock()
				e2e = append(e2e, time.Since(sent))
				e2eMu.Unlock()
			}
			_ = d.Ack(false)
			consumed.Add(1)
			lastConsumed.Store(time.Now().UnixNano())
		}
	}()

	pch, err := conn.Channel()
	if err != nil {
		return res, err
	}
	if err := pch.Confirm(false); err != nil {
		return res, err
	}
	body := make([]byte, res.BodyBytes)
	r := loop.Closed(ctx, n, warmup+duration, func(ctx context.Context, w, seq int) (string, bool, bool) {
		b := make([]byte, len(body))
		binary.BigEndian.PutUint64(b, uint64(time.Now().UnixNano()))
		dc, err := pch.PublishWithDeferredConfirmWithContext(ctx, exchange, "transfer_completed", false, false, amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent,
			MessageId: strconv.Itoa(w) + "-" + strconv.Itoa(seq), Body: b,
		})
		if err != nil {
			return "publish error", true, false
		}
		ok, err := dc.WaitContext(ctx)
		if err != nil || !ok {
			return "nack", true, false
		}
		return "confirmed", false, false
	})
	published := r.Outcomes["confirmed"]
	res.Published = published
	res.Publish = stats.Summarize(r.Samples, warmup, duration)
	pubEnd := time.Now()
	deadline := time.Now().Add(30 * time.Second)
	for consumed.Load() < int64(published) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	res.Consumed = int(consumed.Load())
	if last := time.Unix(0, lastConsumed.Load()); last.After(pubEnd) {
		res.DrainedAfterMs = float64(last.Sub(pubEnd).Microseconds()) / 1000
	}
	if el := time.Unix(0, lastConsumed.Load()).Sub(r.Started); el > 0 {
		res.ConsumeRate = float64(res.Consumed) / el.Seconds()
	}
	e2eMu.Lock()
	lat := append([]time.Duration(nil), e2e...)
	e2eMu.Unlock()
	slices.Sort(lat)
	res.EndToEndP50ms = ms(stats.Percentile(lat, 0.5))
	res.EndToEndP99ms = ms(stats.Percentile(lat, 0.99))
	return res, nil
}

// Notifier is the notifier's sustained rate on a burst.
type Notifier struct {
	Events        int     `json:"events"`
	Publishers    int     `json:"publishers"`
	PublishSec    float64 `json:"publish_sec"`
	PublishRate   float64 `json:"published_per_sec"` // through rabbitmq.Publisher, with confirms
	StoredSec     float64 `json:"stored_sec"`        // from the first publish until every notification was stored
	EventsPerSec  float64 `json:"events_per_sec"`    // events fully handled (2 notifications stored and sent to Redis) per second
	Notifications int     `json:"notifications"`
	Complete      bool    `json:"complete"`
}

// Party is a user and their account, a recipient of the synthetic events.
type Party struct{ UserID, Account string }

// RunNotifier publishes events transfer_completed events between parties
// through the bank's publisher to the stack's exchange and waits until the
// notifier has stored both notifications of each. Their ids start with
// "bench-notifier/", so they can be told from real transfers' events.
func RunNotifier(ctx context.Context, url, exchange string, pool *pgxpool.Pool, parties []Party, events, publishers int, logger *slog.Logger) (Notifier, error) {
	res := Notifier{Events: events, Publishers: publishers}
	pub := rabbitmq.NewPublisher(url, exchange, logger)
	defer func() { _ = pub.Close() }()
	if err := pub.Ping(ctx); err != nil {
		return res, err
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range publishers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= events || ctx.Err() != nil {
					return
				}
				a, b := parties[i%len(parties)], parties[(i+1+i/len(parties))%len(parties)]
				if a.UserID == b.UserID {
					b = parties[(i+2)%len(parties)]
				}
				ev := bank.Event{ID: "bench-notifier/" + strconv.Itoa(i), Type: bank.EventTransferCompleted,
					OccurredAt: time.Now().UTC(), UserID: a.UserID, CounterpartyID: b.UserID,
					AccountNumber: a.Account, CounterpartAccount: b.Account, Reference: "bench-notifier-" + strconv.Itoa(i), Amount: "1.00"}
				if err := pub.Publish(ctx, ev); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	res.PublishSec = time.Since(start).Seconds()
	res.PublishRate = float64(events) / res.PublishSec
	want := 2 * events
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM notify.notifications WHERE event_id LIKE 'bench-notifier/%'`).Scan(&res.Notifications); err != nil {
			return res, err
		}
		if res.Notifications >= want {
			res.Complete = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.StoredSec = time.Since(start).Seconds()
	res.EventsPerSec = float64(res.Notifications/2) / res.StoredSec
	if !res.Complete {
		return res, fmt.Errorf("notifier stored %d of %d notifications in %.0f s", res.Notifications, want, res.StoredSec)
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
