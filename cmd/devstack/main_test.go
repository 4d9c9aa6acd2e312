package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
	amqp := map[string]string{"amqp": "5672", "amqps": "5671"}
	for in, want := range map[string]string{
		"amqp://guest:guest@127.0.0.1:5672/": "127.0.0.1:5672",
		"amqp://guest:guest@rabbit/":         "rabbit:5672",
		"amqps://u:p@rabbit/vhost":           "rabbit:5671",
	} {
		if got, _, err := hostPort(in, amqp); err != nil || got != want {
			t.Errorf("hostPort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, _, err := hostPort("http://x", amqp); err == nil {
		t.Error("hostPort accepted an http URL as AMQP")
	}
}

func TestForwardable(t *testing.T) {
	if forwardable(os.Interrupt) != syscall.SIGINT || forwardable(syscall.SIGTERM) != syscall.SIGTERM ||
		forwardable(syscall.SIGHUP) != syscall.SIGTERM {
		t.Error("wrong signal forwarded")
	}
}

// fakeRedis answers each RESP command with the next reply in turn and
// records the command names it saw.
func fakeRedis(t *testing.T, replies ...string) (addr string, seen <-chan []string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	ch := make(chan []string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		r := bufio.NewReader(c)
		var cmds []string
		defer func() { ch <- cmds }()
		for _, reply := range replies {
			header, err := r.ReadString('\n') // *N
			if err != nil {
				return
			}
			var n int
			if _, err := fmt.Sscanf(header, "*%d\r\n", &n); err != nil {
				return
			}
			var args []string
			for range n {
				if _, err := r.ReadString('\n'); err != nil { // $len
					return
				}
				arg, err := r.ReadString('\n')
				if err != nil {
					return
				}
				args = append(args, strings.TrimRight(arg, "\r\n"))
			}
			cmds = append(cmds, strings.Join(args, " "))
			if _, err := c.Write([]byte(reply + "\r\n")); err != nil {
				return
			}
		}
	}()
	return l.Addr().String(), ch
}

func TestCheckRedis(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	addr, seen := fakeRedis(t, "+PONG")
	if _, err := checkRedis(ctx, "redis://"+addr+"/0"); err != nil {
		t.Errorf("PONG: %v", err)
	}
	if got := <-seen; strings.Join(got, ";") != "PING" {
		t.Errorf("commands %q, want PING", got)
	}

	addr, seen = fakeRedis(t, "+OK", "+PONG")
	if _, err := checkRedis(ctx, "redis://:s3cret@"+addr+"/0"); err != nil {
		t.Errorf("AUTH then PONG: %v", err)
	}
	if got := <-seen; strings.Join(got, ";") != "AUTH s3cret;PING" {
		t.Errorf("commands %q, want AUTH s3cret;PING", got)
	}

	addr, _ = fakeRedis(t, "-NOAUTH Authentication required.")
	if _, err := checkRedis(ctx, "redis://"+addr+"/0"); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("NOAUTH: got %v", err)
	}

	// Nothing listening: a closed port must be reported, not hang.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	if _, err := checkRedis(ctx, "redis://"+closed+"/0"); err == nil {
		t.Error("closed port reported reachable")
	}
}
