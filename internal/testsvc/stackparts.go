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

// StackEnv is the settings of a bank of its own on the shared services: its
// database and Temporal namespace, an exchange, a queue and a Redis prefix
// named "<kind>-<random suffix>", fresh secrets, and no limit on
// registrations or failed logins (tests and load generators register many
// users from one address). The caller adds what is particular to it.
func StackEnv(kind, dsn, temporalAddress, namespace string) map[string]string {
	s := kind + "-" + Suffix()
	return map[string]string{
		"DATABASE_URL":                     dsn,
		"TEMPORAL_ADDRESS":                 temporalAddress,
		"TEMPORAL_NAMESPACE":               namespace,
		"RABBITMQ_URL":                     RabbitMQURL,
		"BANK_EVENTS_EXCHANGE":             "bank.events." + s,
		"BANK_NOTIFIER_QUEUE":              "bank.notifier." + s,
		"REDIS_URL":                        RedisURL,
		"BANK_REDIS_PREFIX":                s + ":",
		"JWT_SECRET":                       RandomKey(),
		"IDENTITY_KEY":                     RandomKey(),
		"PAYLOAD_KEY":                      kind + ":" + RandomKey(),
		"BANK_RATE_REGISTER":               "0",
		"BANK_RATE_LOGIN_FAILURES":         "0",
		"BANK_RATE_LOGIN_ADDRESS_FAILURES": "0",
	}
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
