package cpu

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestProbeReadsPidsAndSelf(t *testing.T) {
	p := Probe{Pids: Procs{BankA: os.Getpid()}}
	a := p.Read()
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x += len(strconv.Itoa(x))
	}
	d := Since(a, p.Read(), 1)
	if d.Self <= 0 || d.BankA <= 0 {
		t.Fatalf("busy for 300 ms: Self %s, BankA (this pid) %s; want both > 0 (%d)", d.Self, d.BankA, x)
	}
	if d.Server != 0 || d.BankB != 0 || d.Notifier != 0 || d.Postgres != 0 || d.Broker != 0 {
		t.Fatalf("unmeasured parts not zero: %+v", d)
	}
}
