package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bankcore/bank/internal/proc"
	"github.com/bankcore/bank/internal/testsvc"
)

func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.lock")
	release, err := acquireLock(path)
	if err != nil {
		t.Fatal(err)
	}
	// flock belongs to the open file, so a second open in this process
	// conflicts just as another process would.
	if _, err := acquireLock(path); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second lock: got %v, want 'already running'", err)
	}
	release()
	release2, err := acquireLock(path)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	release2()
}

func TestAddresses(t *testing.T) {
	for in, want := range map[string]string{
		":8080":          "http://localhost:8080",
		"0.0.0.0:8080":   "http://localhost:8080",
		"127.0.0.1:9090": "http://localhost:9090",
		"10.1.2.3:80":    "http://10.1.2.3:80",
	} {
		if got := localURL(in); got != want {
			t.Errorf("localURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := dialable(":8080"); got != "127.0.0.1:8080" {
		t.Errorf("dialable(:8080) = %q", got)
	}
	for in, want := range map[string]string{
		"amqp://guest:guest@127.0.0.1:5672/": "127.0.0.1:5672",
		"amqp://guest:guest@rabbit/":         "rabbit:5672",
		"amqps://u:p@rabbit/vhost":           "rabbit:5671",
	} {
		if got, err := rabbitHost(in); err != nil || got != want {
			t.Errorf("rabbitHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := rabbitHost("http://x"); err == nil {
		t.Error("rabbitHost accepted an http URL as AMQP")
	}
}

func TestForwardable(t *testing.T) {
	if forwardable(os.Interrupt) != syscall.SIGINT || forwardable(syscall.SIGTERM) != syscall.SIGTERM ||
		forwardable(syscall.SIGHUP) != syscall.SIGTERM {
		t.Error("wrong signal forwarded")
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// The checks run against the machine's real services, as `make run` would.
func TestCheckServices(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	redisOpts, err := redis.ParseURL(testsvc.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	closed := closedAddr(t)

	if target, err := checkRedis(ctx, testsvc.RedisURL); err != nil || target != redisOpts.Addr {
		t.Errorf("checkRedis(%s) = %q, %v", testsvc.RedisURL, target, err)
	}
	// The credentials are sent: a user the server does not know is refused.
	if _, err := checkRedis(ctx, "redis://no-such-user:pw@"+redisOpts.Addr+"/0"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("checkRedis with a password the server does not have: %v", err)
	}
	if _, err := checkRedis(ctx, "redis://"+closed+"/0"); err == nil {
		t.Error("checkRedis: a closed port reported reachable")
	}
	if _, err := checkRedis(ctx, "http://x"); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("checkRedis of a bad URL: %v", err)
	}

	if _, err := checkRabbitMQ(ctx, testsvc.RabbitMQURL); err != nil {
		t.Errorf("checkRabbitMQ(%s): %v", testsvc.RabbitMQURL, err)
	}
	if target, err := checkRabbitMQ(ctx, "amqp://guest:guest@"+closed+"/"); err == nil || target != closed {
		t.Errorf("checkRabbitMQ on a closed port = %q, %v", target, err)
	}

	if _, err := checkPostgres(ctx, testsvc.PostgresURL); err != nil {
		t.Errorf("checkPostgres(%s): %v", testsvc.PostgresURL, err)
	}
	if _, err := checkPostgres(ctx, "postgres://postgres@"+closed+"/bank?sslmode=disable&connect_timeout=2"); err == nil {
		t.Error("checkPostgres: a closed port reported reachable")
	}
}
