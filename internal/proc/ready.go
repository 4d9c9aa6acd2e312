package proc

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// WaitReady polls ready until it succeeds, one of procs exits, ctx ends or
// timeout passes; the errors quote the process's last output. Each attempt
// gets at most 3 s.
func WaitReady(ctx context.Context, timeout time.Duration, ready func(context.Context) error, procs ...*Proc) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// One channel for "some process ended": the select below waits on it.
	exited := make(chan *Proc, len(procs))
	for _, p := range procs {
		go func(done <-chan struct{}) {
			select {
			case <-done:
				exited <- p
			case <-ctx.Done():
			}
		}(p.Done())
	}
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 3*time.Second)
		err := ready(attempt)
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case p := <-exited:
			return fmt.Errorf("%s exited while starting (%s); its last output:\n%s", p.spec.Name, ExitText(p.ExitErr()), p.Tail(1500))
		case <-ctx.Done():
			if len(procs) == 0 {
				return fmt.Errorf("not ready after %s: %w", timeout, err)
			}
			return fmt.Errorf("%s not ready after %s: %w; its last output:\n%s", procs[0].spec.Name, timeout, err, procs[0].Tail(1500))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// HTTPReady is a probe for WaitReady: GET url answers 200.
func HTTPReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// Listening is a probe for WaitReady: something accepts TCP connections on
// addr (host:port).
func Listening(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}
