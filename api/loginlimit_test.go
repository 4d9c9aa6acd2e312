package api

import (
	"fmt"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }

func testLimiter(perEmail, perAddress int) (*loginLimiter, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 12, 5, 10, 0, 10, 0, time.UTC)}
	l := newLoginLimiter(perEmail, perAddress)
	l.now = clock.now
	return l, clock
}

func wantBlocked(t *testing.T, l *loginLimiter, email, addr string, want bool) time.Duration {
	t.Helper()
	got, wait := l.blocked(email, addr)
	if got != want {
		t.Fatalf("blocked(%s, %s) = %v (wait %v), want %v", email, addr, got, wait, want)
	}
	return wait
}

// Issue 15, finding 8: after 5 failed logins for any emails, every login
// from that address got 429 for a minute, the operator's correct one too.
// Failures for other emails now count only against the address ceiling.
func TestLoginLimiterOthersFailuresDoNotLockAUserOut(t *testing.T) {
	l, _ := testLimiter(5, 100)
	for i := range 20 {
		email := fmt.Sprintf("typo%d@example.com", i%4)
		if blocked, _ := l.blocked(email, "198.51.100.7"); !blocked {
			l.fail(email, "198.51.100.7")
		}
	}
	wantBlocked(t, l, "operator@bank.local", "198.51.100.7", false)
	// The typo-prone emails are locked, from everywhere.
	wantBlocked(t, l, "typo0@example.com", "198.51.100.7", true)
	wantBlocked(t, l, "typo0@example.com", "203.0.113.9", true)
}

func TestLoginLimiterPerEmailAndPair(t *testing.T) {
	l, clock := testLimiter(3, 100)
	// Per (address, email): the user's own typos from one address.
	for range 2 {
		l.fail("ada@example.com", "10.0.0.1")
	}
	wantBlocked(t, l, "ada@example.com", "10.0.0.1", false)
	l.fail("ada@example.com", "10.0.0.1")
	wait := wantBlocked(t, l, "ada@example.com", "10.0.0.1", true)
	if wait != time.Minute {
		t.Errorf("Retry-After %v, want a minute from the first failure", wait)
	}
	// Per email: the same guesser from another address is blocked too.
	wantBlocked(t, l, "ada@example.com", "10.0.0.2", true)
	// A minute after the first failure the window is over.
	clock.add(time.Minute)
	wantBlocked(t, l, "ada@example.com", "10.0.0.1", false)
}

func TestLoginLimiterAddressCeiling(t *testing.T) {
	l, clock := testLimiter(5, 10)
	for i := range 10 {
		l.fail(fmt.Sprintf("spray%d@example.com", i), "192.0.2.1")
	}
	// Everyone behind the address waits for the window to end; others not.
	wantBlocked(t, l, "operator@bank.local", "192.0.2.1", true)
	wantBlocked(t, l, "operator@bank.local", "192.0.2.2", false)
	clock.add(time.Minute)
	wantBlocked(t, l, "operator@bank.local", "192.0.2.1", false)
}

// An email that keeps filling its window is locked longer each time: 1, 2,
// 4, 8 minutes, then 15 at most; a correct login forgets it.
func TestLoginLimiterBacksOffPerEmail(t *testing.T) {
	l, clock := testLimiter(5, 0)
	exhaust := func() time.Duration {
		t.Helper()
		for range 5 {
			if blocked, _ := l.blocked("victim@example.com", "10.9.9.9"); blocked {
				t.Fatal("blocked before the limit")
			}
			l.fail("victim@example.com", "10.9.9.9")
		}
		return wantBlocked(t, l, "victim@example.com", "10.9.9.9", true)
	}
	if wait := exhaust(); wait != time.Minute {
		t.Fatalf("first lockout %v, want the rest of the window", wait)
	}
	for _, want := range []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		clock.add(time.Minute)
		for {
			blocked, wait := l.blocked("victim@example.com", "10.9.9.9")
			if !blocked {
				break
			}
			clock.add(wait)
		}
		if wait := exhaust(); wait != want {
			t.Fatalf("lockout %v, want %v", wait, want)
		}
	}
	// The owner gets in once the lock ends, and the history is forgotten.
	clock.add(15 * time.Minute)
	wantBlocked(t, l, "victim@example.com", "10.9.9.9", false)
	l.succeed("victim@example.com")
	clock.add(time.Minute)
	if wait := exhaust(); wait > time.Minute {
		t.Errorf("after a correct login, lockout %v, want the first one's", wait)
	}
	// And so does an hour without lockouts.
	clock.add(2 * time.Hour)
	clock.add(time.Minute)
	if wait := exhaust(); wait > time.Minute {
		t.Errorf("after an hour, lockout %v, want the first one's", wait)
	}
}

func TestLoginLimiterOff(t *testing.T) {
	l, _ := testLimiter(0, 0)
	for range 1000 {
		l.fail("a@example.com", "10.0.0.1")
	}
	wantBlocked(t, l, "a@example.com", "10.0.0.1", false)
	if len(l.counts) != 0 || len(l.strikes) != 0 {
		t.Errorf("an off limiter keeps %d counters, %d strikes", len(l.counts), len(l.strikes))
	}
}

// Memory follows the last window's failures, not all time's.
func TestLoginLimiterForgets(t *testing.T) {
	l, clock := testLimiter(5, 100)
	for i := range 1000 {
		l.fail(fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250))
	}
	clock.add(2 * time.Hour)
	l.fail("last@example.com", "10.1.1.1")
	if len(l.counts) != 3 {
		t.Errorf("%d counters kept, want the last failure's 3", len(l.counts))
	}
}
