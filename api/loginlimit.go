package api

import (
	"sync"
	"time"
)

// loginLimiter counts failed logins so that guessing is stopped without
// letting one address, or one user's typos, lock others out:
//
//   - per email, over every address: perEmail failures per window. Each
//     time an email fills its window again within backoffMemory, it stays
//     locked twice as long as the time before (1, 2, 4 ... windows, at most
//     maxBackoff), so a slow guesser gets ever fewer tries;
//   - per (address, email): perEmail failures per window;
//   - per address, over all emails: perAddress per window, a ceiling high
//     enough for everyone behind one NAT or proxy.
//
// A login is refused only when one of its own counters is full: failures
// for other emails from the same address count against the address
// ceiling alone. A key's window begins at its first failure and lasts one
// minute. Counters live in this process (docs/design.md, "Left for later").
type loginLimiter struct {
	perEmail, perAddress int
	window               time.Duration
	maxBackoff           time.Duration
	backoffMemory        time.Duration
	now                  func() time.Time

	mu        sync.Mutex
	counts    map[string]*windowCount
	strikes   map[string]*strike // by email
	nextSweep time.Time
}

type windowCount struct {
	start time.Time
	n     int
}

// strike is an email's history of filling its window.
type strike struct {
	n      int       // consecutive lockouts, forgotten after backoffMemory
	last   time.Time // when the last one began
	blocks time.Time // locked until then
}

func newLoginLimiter(perEmail, perAddress int) *loginLimiter {
	return &loginLimiter{
		perEmail: perEmail, perAddress: perAddress,
		window: time.Minute, maxBackoff: 15 * time.Minute, backoffMemory: time.Hour,
		now: time.Now, counts: map[string]*windowCount{}, strikes: map[string]*strike{},
	}
}

func loginKeys(email, addr string) (emailKey, pairKey, addrKey string) {
	return "email:" + email, "pair:" + addr + "|" + email, "addr:" + addr
}

// blocked reports whether a login for email from addr must be refused now,
// and for how long.
func (l *loginLimiter) blocked(email, addr string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	if s := l.strikes[email]; s != nil && now.Before(s.blocks) {
		wait = s.blocks.Sub(now)
	}
	emailKey, pairKey, addrKey := loginKeys(email, addr)
	for _, k := range []struct {
		key   string
		limit int
	}{{emailKey, l.perEmail}, {pairKey, l.perEmail}, {addrKey, l.perAddress}} {
		if c := l.current(k.key, now); c != nil && k.limit > 0 && c.n >= k.limit {
			wait = max(wait, c.start.Add(l.window).Sub(now))
		}
	}
	return wait > 0, wait
}

// fail records a failed login.
func (l *loginLimiter) fail(email, addr string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	emailKey, pairKey, addrKey := loginKeys(email, addr)
	if l.perEmail > 0 {
		l.add(pairKey, now)
		if l.add(emailKey, now) == l.perEmail {
			l.strike(email, now)
		}
	}
	if l.perAddress > 0 {
		l.add(addrKey, now)
	}
}

// succeed forgets an email's back-off: its owner got in.
func (l *loginLimiter) succeed(email string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.strikes, email)
}

// strike locks email when it fills a window: the first time until the
// window ends, and each time again within backoffMemory for 2, 4, 8 ...
// windows from now, at most maxBackoff.
func (l *loginLimiter) strike(email string, now time.Time) {
	s := l.strikes[email]
	if s == nil || now.Sub(s.last) > l.backoffMemory {
		s = &strike{}
		l.strikes[email] = s
	}
	s.n++
	s.last = now
	block := now.Add(l.window)
	if c := l.current("email:"+email, now); c != nil {
		block = c.start.Add(l.window)
	}
	if s.n > 1 {
		d := l.window << min(s.n-1, 20)
		block = now.Add(min(d, l.maxBackoff))
	}
	s.blocks = block
}

// current is key's window if it is still open.
func (l *loginLimiter) current(key string, now time.Time) *windowCount {
	c := l.counts[key]
	if c == nil || now.Sub(c.start) >= l.window {
		return nil
	}
	return c
}

// add counts a failure for key, opening a window at the first one.
func (l *loginLimiter) add(key string, now time.Time) int {
	c := l.current(key, now)
	if c == nil {
		c = &windowCount{start: now}
		l.counts[key] = c
	}
	c.n++
	return c.n
}

// sweep drops what no longer counts, once a window, so memory follows the
// failures of the last minute and the back-offs of the last hour.
func (l *loginLimiter) sweep(now time.Time) {
	if now.Before(l.nextSweep) {
		return
	}
	l.nextSweep = now.Add(l.window)
	for k, c := range l.counts {
		if now.Sub(c.start) >= l.window {
			delete(l.counts, k)
		}
	}
	for k, s := range l.strikes {
		if now.Sub(s.last) > l.backoffMemory && !now.Before(s.blocks) {
			delete(l.strikes, k)
		}
	}
}
