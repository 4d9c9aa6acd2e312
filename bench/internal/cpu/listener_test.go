package cpu

import (
	"bufio"
	"net"
	"os"
	"strings"
	"testing"
)

func TestParseListening(t *testing.T) {
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0
`
	got := parseListening(bufio.NewScanner(strings.NewReader(tcp)), 8080)
	if len(got) != 1 || got[0] != "111" {
		t.Fatalf("port 8080: %v, want [111] (the LISTEN socket only)", got)
	}
	if got := parseListening(bufio.NewScanner(strings.NewReader(tcp)), 80); len(got) != 1 || got[0] != "333" {
		t.Fatalf("port 80: %v, want [333]", got)
	}
	if got := parseListening(bufio.NewScanner(strings.NewReader(tcp)), 9090); len(got) != 0 {
		t.Fatalf("port 9090: %v, want none", got)
	}
}

func TestListenerPidFindsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this system")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port
	if got := ListenerPid(port); got != os.Getpid() {
		t.Fatalf("ListenerPid(%d) = %d, want this process %d", port, got, os.Getpid())
	}
	if !strings.Contains(Cmdline(os.Getpid()), "cpu.test") {
		t.Errorf("Cmdline(self) = %q", Cmdline(os.Getpid()))
	}
}

func TestLocalHost(t *testing.T) {
	for _, h := range []string{"localhost", "127.0.0.1", "::1", ""} {
		if !LocalHost(h) {
			t.Errorf("LocalHost(%q) = false", h)
		}
	}
	if LocalHost("192.0.2.1") { // TEST-NET-1, never ours
		t.Error("LocalHost(192.0.2.1) = true")
	}
}
