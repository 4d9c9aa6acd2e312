package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/fanout"
	"github.com/bankcore/bank/internal/postgres"
	"github.com/bankcore/bank/internal/rabbitmq"
	"github.com/bankcore/bank/internal/testkit"
)

// testEnv is one test's real services: a fresh database, its own exchange and
// queues, and its own Redis channel prefix with a hub listening on it.
type testEnv struct {
	store *postgres.Notifications
	hub   *fanout.Hub
	pub   *fanout.Publisher
	b     *broker
	n     *Notifier
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	pool := newDatabase(t)
	rdb := newRedis(t)
	prefix := "test:" + suffix() + ":"
	e := &testEnv{
		store: postgres.NewNotifications(pool),
		hub:   startHub(t, rdb, prefix),
		pub:   fanout.NewPublisher(rdb, prefix),
		b:     newBroker(t),
	}
	e.n = &Notifier{Store: e.store, Publisher: e.pub, Logger: testLogger()}
	return e
}

// list returns every stored notification of a user.
func (e *testEnv) list(t *testing.T, userID string) []bank.Notification {
	t.Helper()
	ns, _, err := e.store.List(ctxFor(t), userID, bank.MaxNotificationsPage, "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return ns
}

func (e *testEnv) subscribe(t *testing.T, userID string) <-chan bank.Notification {
	ch, cancel := e.hub.Subscribe(context.Background(), userID)
	t.Cleanup(cancel)
	return ch
}

func TestTransferNotifiesBothParties(t *testing.T) {
	e := newEnv(t)
	ev := transferEvent()
	senderLive, receiverLive := e.subscribe(t, ev.UserID), e.subscribe(t, ev.CounterpartyID)
	calls, _ := runNotifier(t, e.b, e.n)

	if err := e.b.publisher(t).Publish(ctxFor(t), ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if c := nextCall(t, calls); c.err != nil || c.messageID != ev.ID {
		t.Fatalf("handled %+v, want %s without error", c, ev.ID)
	}

	for _, party := range []struct {
		name   string
		userID string
		live   <-chan bank.Notification
		typ    bank.NotificationType
		acc    string
	}{
		{"sender", ev.UserID, senderLive, bank.NotificationTransferDebit, ev.AccountNumber},
		{"receiver", ev.CounterpartyID, receiverLive, bank.NotificationTransferCredit, ev.CounterpartAccount},
	} {
		stored := e.list(t, party.userID)
		if len(stored) != 1 {
			t.Fatalf("%s has %d stored notifications, want 1", party.name, len(stored))
		}
		s := stored[0]
		if s.Type != party.typ || s.Amount == nil || *s.Amount != 150050 || s.Reference != ev.Reference || s.AccountNumber != party.acc {
			t.Errorf("%s's stored notification = %+v", party.name, s)
		}
		got := receive(t, party.live)
		if got.ID != s.ID || got.Type != party.typ || got.UserID != party.userID || !got.CreatedAt.Equal(s.CreatedAt) {
			t.Errorf("%s received %+v, want stored %+v", party.name, got, s)
		}
		// Each party receives its own notification and not the other's.
		expectNothing(t, party.live)
	}
}

func TestDuplicateDeliveryStoresOnce(t *testing.T) {
	e := newEnv(t)
	ev := transferEvent()
	receiverLive := e.subscribe(t, ev.CounterpartyID)
	// Both copies are queued before the consumer starts, so they are
	// handled back to back, as after a publisher's retry.
	p := e.b.publisher(t)
	for range 2 {
		if err := p.Publish(ctxFor(t), ev); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	calls, stop := runNotifier(t, e.b, e.n)
	for i := range 2 {
		if c := nextCall(t, calls); c.err != nil || c.messageID != ev.ID {
			t.Fatalf("delivery %d handled as %+v, want %s acked", i, c, ev.ID)
		}
	}
	stop()

	for _, user := range []string{ev.UserID, ev.CounterpartyID} {
		if n := len(e.list(t, user)); n != 1 {
			t.Errorf("user %s has %d notifications, want 1", user, n)
		}
	}
	if n, err := e.store.CountForEvent(ctxFor(t), ev.ID); err != nil || n != 2 {
		t.Errorf("CountForEvent = %d, %v; want 2", n, err)
	}
	// Both deliveries were acknowledged: nothing went back to the queue or
	// to the dead letters.
	if n := e.b.messages(t, e.b.queue); n != 0 {
		t.Errorf("%d messages left in the queue, want 0", n)
	}
	if n := e.b.messages(t, e.b.queue+".dead"); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
	// Live delivery is at least once, with one id: a client deduplicates.
	first, second := receive(t, receiverLive), receive(t, receiverLive)
	if first.ID != second.ID {
		t.Errorf("the two live copies have ids %s and %s, want one id", first.ID, second.ID)
	}
}

func TestCrashBetweenStoreAndAck(t *testing.T) {
	e := newEnv(t)
	ev := transferEvent()
	senderLive := e.subscribe(t, ev.UserID)
	if err := e.b.publisher(t).Publish(ctxFor(t), ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	// A notifier that dies after storing and publishing, before its ack
	// reaches the broker: handle on a raw connection, then close it.
	conn, err := amqp.Dial(testkit.RabbitMQURL)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(e.b.queue, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var d amqp.Delivery
	select {
	case d = <-deliveries:
	case <-time.After(waitTimeout):
		t.Fatal("no delivery")
	}
	if err := e.n.Handle(ctxFor(t), d); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	before := receive(t, senderLive)
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := e.store.CountForEvent(ctxFor(t), ev.ID); err != nil || n != 2 {
		t.Fatalf("after the crash CountForEvent = %d, %v; want 2", n, err)
	}

	// The restarted notifier gets the event again.
	calls, stop := runNotifier(t, e.b, e.n)
	c := nextCall(t, calls)
	if c.messageID != ev.ID || !c.redelivered || c.err != nil {
		t.Fatalf("handled %+v, want a redelivery of %s acked", c, ev.ID)
	}
	stop()
	if n, err := e.store.CountForEvent(ctxFor(t), ev.ID); err != nil || n != 2 {
		t.Errorf("after the redelivery CountForEvent = %d, %v; want still 2", n, err)
	}
	if n := e.b.messages(t, e.b.queue); n != 0 {
		t.Errorf("%d messages left in the queue, want 0", n)
	}
	// The re-publication carries the id the client already has.
	if again := receive(t, senderLive); again.ID != before.ID {
		t.Errorf("redelivery published id %s, first delivery %s", again.ID, before.ID)
	}
}

func TestPoisonMessagesAreDeadLettered(t *testing.T) {
	e := newEnv(t)
	ctx := ctxFor(t)
	publish := func(id, key string, body []byte) {
		t.Helper()
		err := e.b.admin.PublishWithContext(ctx, e.b.exchange, key, false, false, amqp.Publishing{
			MessageId: id, ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: body})
		if err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
	asJSON := func(ev bank.Event) []byte {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unknown := transferEvent()
	unknown.Type = "account_closed"
	noUser := transferEvent()
	noUser.UserID = ""
	notUUID := transferEvent()
	notUUID.UserID = "user-42" // passes the domain, refused by the store
	poison := map[string][]byte{
		"garbage":        []byte(`{"id": "garbage", "type":`),
		"not-an-object":  []byte(`["transfer_completed"]`),
		unknown.ID:       asJSON(unknown),
		noUser.ID:        asJSON(noUser),
		notUUID.ID:       asJSON(notUUID),
		"empty-document": []byte(`null`),
	}
	for id, body := range poison {
		publish(id, "transfer_completed", body)
	}
	good := transferEvent()
	publish(good.ID, string(good.Type), asJSON(good))

	calls, _ := runNotifier(t, e.b, e.n)
	for {
		c := nextCall(t, calls)
		if c.messageID == good.ID {
			if c.err != nil {
				t.Fatalf("good event: %v", c.err)
			}
			break
		}
		if _, ok := poison[c.messageID]; !ok || !rabbitmq.IsPoison(c.err) {
			t.Errorf("message %s handled with %v, want a poison error", c.messageID, c.err)
		}
	}
	if n := len(e.list(t, good.UserID)); n != 1 {
		t.Errorf("the good event after the poison made %d notifications for the sender, want 1", n)
	}

	dead, err := e.b.admin.Consume(e.b.queue+".dead", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < len(poison) {
		select {
		case d := <-dead:
			if _, ok := poison[d.MessageId]; !ok {
				t.Errorf("unexpected dead letter %s", d.MessageId)
			}
			seen[d.MessageId] = true
		case <-time.After(waitTimeout):
			t.Fatalf("dead letters %v, want all of %d poison messages", seen, len(poison))
		}
	}
}

// flakyPublisher fails the first publish, as Redis going away for a moment
// would, and passes the rest to the real publisher.
type flakyPublisher struct {
	Publisher
	calls atomic.Int32
}

func (p *flakyPublisher) Publish(ctx context.Context, ns ...bank.Notification) error {
	if p.calls.Add(1) == 1 {
		return errors.New("redis: connection refused")
	}
	return p.Publisher.Publish(ctx, ns...)
}

func TestPublishFailureRedelivers(t *testing.T) {
	e := newEnv(t)
	e.n.Publisher = &flakyPublisher{Publisher: e.pub}
	ev := transferEvent()
	senderLive := e.subscribe(t, ev.UserID)
	receiverLive := e.subscribe(t, ev.CounterpartyID)
	calls, _ := runNotifier(t, e.b, e.n)
	if err := e.b.publisher(t).Publish(ctxFor(t), ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	first := nextCall(t, calls)
	if first.err == nil || rabbitmq.IsPoison(first.err) {
		t.Fatalf("first attempt = %v, want a transient error", first.err)
	}
	second := nextCall(t, calls)
	if second.err != nil || !second.redelivered {
		t.Fatalf("second attempt = %+v, want a redelivery that succeeds", second)
	}
	if n, err := e.store.CountForEvent(ctxFor(t), ev.ID); err != nil || n != 2 {
		t.Errorf("CountForEvent = %d, %v; want 2", n, err)
	}
	if got := receive(t, senderLive); got.Type != bank.NotificationTransferDebit {
		t.Errorf("sender received %s", got.Type)
	}
	if got := receive(t, receiverLive); got.Type != bank.NotificationTransferCredit {
		t.Errorf("receiver received %s", got.Type)
	}
}

func TestStoreFailureIsTransient(t *testing.T) {
	pool := newDatabase(t)
	store := postgres.NewNotifications(pool)
	pool.Close() // the database is unreachable from here on
	n := &Notifier{Store: store, Publisher: fanout.NewPublisher(newRedis(t), "test:"+suffix()+":"), Logger: testLogger()}
	ev := transferEvent()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Handle(ctxFor(t), amqp.Delivery{MessageId: ev.ID, Body: body})
	if err == nil || rabbitmq.IsPoison(err) {
		t.Errorf("Handle with the database down = %v, want a transient error", err)
	}
}

func TestEventsOfEveryTypeAreStored(t *testing.T) {
	e := newEnv(t)
	user := uuid.NewString()
	events := []bank.Event{
		{ID: "reg/" + suffix(), Type: bank.EventUserCreated, UserID: user, AccountNumber: "0123456789"},
		{ID: "dep/" + suffix(), Type: bank.EventDepositCompleted, UserID: user, AccountNumber: "0123456789", Reference: "d1", Amount: "5000"},
		{ID: "tier/" + suffix(), Type: bank.EventTierUpgraded, UserID: user, AccountNumber: "0123456789", Tier: bank.Tier2},
		{ID: "fail/" + suffix(), Type: bank.EventTransferFailed, UserID: user, AccountNumber: "0123456789",
			CounterpartAccount: "9876543210", Reference: "r1", Amount: "60000", FailureCode: bank.CodeSingleLimit},
	}
	calls, _ := runNotifier(t, e.b, e.n)
	p := e.b.publisher(t)
	for _, ev := range events {
		if err := p.Publish(ctxFor(t), ev); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		if c := nextCall(t, calls); c.err != nil {
			t.Fatalf("%s: %v", ev.Type, c.err)
		}
	}
	stored := e.list(t, user)
	want := []bank.NotificationType{bank.NotificationTransferFailed, bank.NotificationTierUpgraded,
		bank.NotificationDeposit, bank.NotificationAccountCreated} // newest first
	if len(stored) != len(want) {
		t.Fatalf("stored %d notifications, want %d", len(stored), len(want))
	}
	for i, w := range want {
		if stored[i].Type != w {
			t.Errorf("[%d] = %s, want %s", i, stored[i].Type, w)
		}
	}
}
