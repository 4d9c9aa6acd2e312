package fanout

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/testkit"
)

// waitTimeout bounds every wait on Redis.
const waitTimeout = testkit.Wait

// quiet is how long a test listens to be reasonably sure nothing arrives.
const quiet = 200 * time.Millisecond

func newClient(t *testing.T) *redis.Client { return testkit.Redis(t) }

// testPrefix keeps this test's channels apart from every other test and
// process sharing the Redis server.
func testPrefix() string { return "test:" + testkit.Suffix() + ":" }

func testLogger() *slog.Logger { return testkit.Logger() }

// startHub runs h until the test ends and waits until it is subscribed.
// stop cancels Run and checks it returned nil.
func startHub(t *testing.T, h *Hub) (stop func()) {
	t.Helper()
	return testkit.Run(t, h.Ready(), h.Run)
}

// newFanout is one API instance's side of a fresh prefix: a running hub and
// a publisher, on one client.
func newFanout(t *testing.T) (*Hub, *Publisher) {
	t.Helper()
	rdb := newClient(t)
	prefix := testPrefix()
	hub := NewHub(rdb, prefix, testLogger())
	startHub(t, hub)
	return hub, NewPublisher(rdb, prefix)
}

func testNotification(userID string) bank.Notification {
	amount := bank.Money(150050)
	return bank.Notification{
		ID:            uuid.NewString(),
		UserID:        userID,
		Type:          bank.NotificationTransferCredit,
		Title:         "Money received",
		Message:       "You received NGN 1500.50 from account 0123456789.",
		Amount:        &amount,
		Reference:     "ref-" + testkit.Suffix(),
		AccountNumber: "9876543210",
		CreatedAt:     time.Now().UTC().Truncate(time.Microsecond),
	}
}

// subscribe subscribes user on hub until the test ends.
func subscribe(t *testing.T, hub *Hub, user string) <-chan bank.Notification {
	t.Helper()
	ch, cancel := hub.Subscribe(context.Background(), user)
	t.Cleanup(cancel)
	return ch
}

func receive(t *testing.T, ch <-chan bank.Notification) bank.Notification {
	t.Helper()
	return testkit.Receive(t, ch)
}

func expectNothing(t *testing.T, ch <-chan bank.Notification) {
	t.Helper()
	testkit.Nothing(t, ch, quiet, true)
}

func expectClosed(t *testing.T, ch <-chan bank.Notification) {
	t.Helper()
	testkit.Closed(t, ch)
}

func sameNotification(t *testing.T, got, want bank.Notification) {
	t.Helper()
	if got.Amount == nil || want.Amount == nil || *got.Amount != *want.Amount {
		t.Errorf("amount = %v, want %v", got.Amount, want.Amount)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("createdAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	got.Amount, want.Amount = nil, nil
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestPublishReachesOnlyThatUser(t *testing.T) {
	hub, pub := newFanout(t)
	ctx := context.Background()

	alice, bob := uuid.NewString(), uuid.NewString()
	aliceTab1 := subscribe(t, hub, alice)
	aliceTab2 := subscribe(t, hub, alice)
	bobs := subscribe(t, hub, bob)
	if n := hub.Stats(); n != 3 {
		t.Errorf("Stats = %d, want 3", n)
	}

	want := testNotification(alice)
	if err := pub.Publish(ctx, want); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// Every subscription of the user gets it: one per open tab or device.
	sameNotification(t, receive(t, aliceTab1), want)
	sameNotification(t, receive(t, aliceTab2), want)
	expectNothing(t, bobs)

	// A user with no subscriber here costs nothing and breaks nothing.
	if err := pub.Publish(ctx, testNotification(uuid.NewString())); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	forBob := testNotification(bob)
	if err := pub.Publish(ctx, forBob); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	sameNotification(t, receive(t, bobs), forBob)
	expectNothing(t, aliceTab1)
}

func TestPublishSeveralReachesEachUser(t *testing.T) {
	hub, pub := newFanout(t)
	ctx := context.Background()

	sender, receiver := uuid.NewString(), uuid.NewString()
	senders := subscribe(t, hub, sender)
	receivers := subscribe(t, hub, receiver)

	debit, credit := testNotification(sender), testNotification(receiver)
	if err := pub.Publish(ctx, debit, credit); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	sameNotification(t, receive(t, senders), debit)
	sameNotification(t, receive(t, receivers), credit)
	expectNothing(t, senders)
	expectNothing(t, receivers)

	// One bad notification sends none: nothing is half-announced by a
	// caller's mistake.
	if err := pub.Publish(ctx, testNotification(sender), bank.Notification{UserID: receiver}); err == nil {
		t.Fatal("Publish with a notification without id succeeded")
	}
	expectNothing(t, senders)
	if err := pub.Publish(ctx); err != nil {
		t.Fatalf("Publish of nothing: %v", err)
	}
}

func TestWireFormatIsTheGraphQLShape(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix()
	user := uuid.NewString()
	ps := rdb.Subscribe(context.Background(), Channel(prefix, user))
	defer func() { _ = ps.Close() }()
	if _, err := ps.Receive(context.Background()); err != nil {
		t.Fatalf("subscribe: %v", err)
	}

	n := testNotification(user)
	n.Amount, n.Reference = nil, "" // absent fields are null, not "" or "0.00"
	n.Type = bank.NotificationTierUpgraded
	n.CreatedAt = time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.UTC)
	if err := NewPublisher(rdb, prefix).Publish(context.Background(), n); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	msg, err := ps.ReceiveMessage(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(msg.Payload), &got); err != nil {
		t.Fatalf("payload %s: %v", msg.Payload, err)
	}
	want := map[string]any{
		"id": n.ID, "type": "TIER_UPGRADED", "title": n.Title, "message": n.Message, "amount": nil,
		"reference": nil, "accountNumber": n.AccountNumber, "read": false, "createdAt": "2026-03-04T05:06:07.891234Z",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("payload = %v\nwant      %v", got, want)
	}

	// Amounts are decimal strings, never JSON numbers.
	amount := bank.Money(5)
	n.Amount = &amount
	b, err := encode(n)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"amount":"0.05"`) {
		t.Errorf("encoded %s, want amount \"0.05\"", b)
	}
	back, err := decode(user, string(b))
	if err != nil || back.Amount == nil || *back.Amount != 5 || back.UserID != user {
		t.Errorf("decode = %+v, %v", back, err)
	}
}

func TestTwoHubsBothDeliver(t *testing.T) {
	prefix := testPrefix()
	// Separate clients, as two API processes would have.
	hubA := NewHub(newClient(t), prefix, testLogger())
	hubB := NewHub(newClient(t), prefix, testLogger())
	startHub(t, hubA)
	startHub(t, hubB)
	user, other := uuid.NewString(), uuid.NewString()
	onA, cancelA := hubA.Subscribe(context.Background(), user)
	defer cancelA()
	onB, cancelB := hubB.Subscribe(context.Background(), user)
	defer cancelB()
	otherOnB, cancelO := hubB.Subscribe(context.Background(), other)
	defer cancelO()

	want := testNotification(user)
	if err := NewPublisher(newClient(t), prefix).Publish(context.Background(), want); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	sameNotification(t, receive(t, onA), want)
	sameNotification(t, receive(t, onB), want)
	expectNothing(t, otherOnB)
}

func TestSubscribeUnsubscribeDoesNotLeak(t *testing.T) {
	const workers, cycles = 10, 20 // 200 subscriptions in all
	hub, pub := newFanout(t)
	users := make([]string, workers)
	for i := range users {
		users[i] = uuid.NewString()
	}
	// Warm up the client's pool so its connections are in the baseline.
	if err := pub.Publish(context.Background(), testNotification(users[0])); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	baseline := runtime.NumGoroutine()

	// Notifications keep arriving while subscribers come and go, so that
	// the race detector sees sends racing closes.
	pubCtx, stopPublishing := context.WithCancel(context.Background())
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := 0; pubCtx.Err() == nil; i++ {
			_ = pub.Publish(pubCtx, testNotification(users[i%workers]))
			time.Sleep(time.Millisecond)
		}
	}()

	// Contexts of subscriptions ended by their function stay alive until
	// after the count: a connection outlives the subscriptions it carried,
	// and a design that parks a goroutine on the context would leak there.
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		liveCtxes []context.CancelFunc
	)
	defer func() {
		for _, cancel := range liveCtxes {
			cancel()
		}
	}()
	for w := range workers {
		wg.Go(func() {
			for c := range cycles {
				ctx, cancelCtx := context.WithCancel(context.Background())
				ch, unsubscribe := hub.Subscribe(ctx, users[w])
				// Half end by the returned function, half by their context,
				// as a resolver's do when the client disconnects.
				if c%2 == 0 {
					unsubscribe()
					unsubscribe() // idempotent
					mu.Lock()
					liveCtxes = append(liveCtxes, cancelCtx)
					mu.Unlock()
				} else {
					cancelCtx()
				}
				for range ch { // drains, and ends only when the hub closes it
				}
			}
		})
	}
	wg.Wait()
	stopPublishing()
	<-published

	if n := hub.Stats(); n != 0 {
		t.Errorf("Stats = %d after every subscription ended, want 0", n)
	}
	// AfterFunc goroutines finish just after closing; give them a moment.
	deadline := time.Now().Add(waitTimeout)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines, baseline %d:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

func TestSlowSubscriberLosesMessagesWithoutBlockingOthers(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix()
	hub := NewHub(rdb, prefix, testLogger())
	hub.buffer = 2
	startHub(t, hub)
	user := uuid.NewString()
	slow, cancelSlow := hub.Subscribe(context.Background(), user)
	fast := subscribe(t, hub, user)

	pub := NewPublisher(rdb, prefix)
	const total = 10
	var ids []string
	for range total {
		n := testNotification(user)
		ids = append(ids, n.ID)
		if err := pub.Publish(context.Background(), n); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		// The fast one reads each before the next is sent, so it never
		// falls behind; the slow one never reads.
		if got := receive(t, fast); got.ID != n.ID {
			t.Fatalf("fast subscriber got %s, want %s", got.ID, n.ID)
		}
	}
	cancelSlow()
	var kept []string
	for n := range slow {
		kept = append(kept, n.ID)
	}
	// The buffer holds the oldest; the rest were dropped, not queued.
	if len(kept) != 2 || kept[0] != ids[0] || kept[1] != ids[1] {
		t.Errorf("slow subscriber kept %v, want the first two of %v", kept, ids)
	}
}

func TestRunEndClosesSubscriptions(t *testing.T) {
	hub := NewHub(newClient(t), testPrefix(), testLogger())
	stop := startHub(t, hub)
	ch, cancel := hub.Subscribe(context.Background(), uuid.NewString())
	defer cancel()
	stop()
	// A resolver waiting on the channel ends, and its client reconnects,
	// possibly to an instance whose hub is alive.
	expectClosed(t, ch)
	if n := hub.Stats(); n != 0 {
		t.Errorf("Stats = %d after Run returned, want 0", n)
	}
	late, lateCancel := hub.Subscribe(context.Background(), uuid.NewString())
	defer lateCancel()
	expectClosed(t, late)
	if err := hub.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	ch, cancel = NewHub(newClient(t), testPrefix(), testLogger()).Subscribe(done, "u")
	defer cancel()
	expectClosed(t, ch)
}

func TestHubResubscribesAfterConnectionLoss(t *testing.T) {
	opts, err := redis.ParseURL(testkit.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	name := "bank-fanout-test-" + testkit.Suffix()
	opts.ClientName = name
	hubClient := redis.NewClient(opts)
	t.Cleanup(func() { _ = hubClient.Close() })
	admin := newClient(t)
	prefix := testPrefix()
	hub := NewHub(hubClient, prefix, testLogger())
	startHub(t, hub)
	user := uuid.NewString()
	ch := subscribe(t, hub, user)

	ctx, cancelCtx := context.WithTimeout(context.Background(), 4*waitTimeout)
	defer cancelCtx()
	// Kill only our hub's connection (by its unique name), as a Redis
	// restart or a network cut would, without touching anyone else's.
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		for _, field := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(field, "id="); ok {
				if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
					t.Fatalf("CLIENT KILL: %v", err)
				}
				killed++
			}
		}
	}
	if killed == 0 {
		t.Fatalf("no connection named %s in CLIENT LIST", name)
	}

	// Publishes during the reconnect are lost (pub/sub keeps nothing), so
	// keep publishing until one arrives.
	pub := NewPublisher(admin, prefix)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := pub.Publish(ctx, testNotification(user)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		select {
		case n, ok := <-ch:
			if !ok {
				t.Fatal("subscription closed by a connection loss")
			}
			if n.UserID != user {
				t.Fatalf("got a notification for %s", n.UserID)
			}
			return
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("hub never resubscribed")
		}
	}
}

func TestHubWaitsForRedis(t *testing.T) {
	// Nothing listens on port 1: the hub must keep trying, not fail or spin
	// out of control, and still stop promptly.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer func() { _ = rdb.Close() }()
	hub := NewHub(rdb, testPrefix(), testLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	select {
	case <-hub.Ready():
		t.Fatal("Ready without Redis")
	case err := <-done:
		t.Fatalf("Run returned %v without Redis; want it to keep trying", err)
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Error("Run did not return after cancel")
	}
}

func TestPatternEscapesThePrefix(t *testing.T) {
	if got, want := pattern(`a*b?[c]\:`), `a\*b\?\[c\]\\:notify:*`; got != want {
		t.Errorf("pattern = %q, want %q", got, want)
	}
	// A prefix with a glob in it must not catch another prefix's channels.
	rdb := newClient(t)
	base := testPrefix()
	hub := NewHub(rdb, base+"*:", testLogger())
	startHub(t, hub)
	user := uuid.NewString()
	ch := subscribe(t, hub, user)
	if err := NewPublisher(rdb, base+"other:").Publish(context.Background(), testNotification(user)); err != nil {
		t.Fatal(err)
	}
	expectNothing(t, ch)
	want := testNotification(user)
	if err := NewPublisher(rdb, base+"*:").Publish(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	sameNotification(t, receive(t, ch), want)
}
