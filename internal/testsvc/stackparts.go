package testsvc

import (
	"crypto/rand"
	"encoding/base64"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bankcore/bank/internal/config"
)

// RandomKey is a fresh 32-byte secret, base64: JWT_SECRET, IDENTITY_KEY
// and PAYLOAD_KEY of a stack of its own.
func RandomKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// DeleteBrokerObjects removes the exchanges and queues a stack with cfg
// declared (the notifier's queue, its dead-letter queue, the events
// exchange and its dead-letter exchange). Best effort: a stack that never
// got that far has nothing to delete.
func DeleteBrokerObjects(cfg config.Config) {
	conn, err := amqp.Dial(cfg.RabbitMQURL)
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	_, _ = ch.QueueDelete(cfg.NotifierQueue, false, false, false)
	_, _ = ch.QueueDelete(cfg.NotifierQueue+".dead", false, false, false)
	_ = ch.ExchangeDelete(cfg.EventsExchange, false, false)
	_ = ch.ExchangeDelete(cfg.EventsExchange+".dlx", false, false)
}
