// Package loop runs a closed-loop load: n workers each call op back to back
// for warm-up + duration, and every call becomes a stats.Sample.
package loop

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bankcore/bank/bench/internal/stats"
)

// Op is one operation by worker w (its seq-th); it reports whether it
// failed or was refused, and a label (outcome code) to count.
type Op func(ctx context.Context, w, seq int) (label string, failed, refused bool)

// Result is the phase's samples and outcome counts.
type Result struct {
	Samples  []stats.Sample
	Outcomes map[string]int // every call, warm-up included
	Started  time.Time
	Ended    time.Time
}

// Closed runs n workers for total time.
func Closed(ctx context.Context, n int, total time.Duration, op Op) Result {
	start := time.Now()
	deadline := start.Add(total)
	per := make([][]stats.Sample, n)
	outs := make([]map[string]int, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			m := map[string]int{}
			samples := make([]stats.Sample, 0, 1024)
			for seq := 1; ctx.Err() == nil; seq++ {
				t0 := time.Now()
				if t0.After(deadline) {
					break
				}
				label, failed, refused := op(ctx, w, seq)
				end := time.Now()
				m[label]++
				samples = append(samples, stats.Sample{End: end, Latency: end.Sub(t0), Failed: failed, Refused: refused})
			}
			per[w], outs[w] = samples, m
		})
	}
	wg.Wait()
	r := Result{Outcomes: map[string]int{}, Started: start, Ended: time.Now()}
	for w := range n {
		r.Samples = append(r.Samples, per[w]...)
		for k, v := range outs[w] {
			r.Outcomes[k] += v
		}
	}
	return r
}

// Open starts op at a fixed rate (per second) for total time, each in its
// own goroutine (no coordinated omission: latency counts from the
// scheduled start).
func Open(ctx context.Context, rate float64, total time.Duration, op Op) Result {
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	var mu sync.Mutex
	r := Result{Outcomes: map[string]int{}, Started: start}
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= total || ctx.Err() != nil {
			break
		}
		if d := time.Until(at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		wg.Go(func() {
			label, failed, refused := op(ctx, i, i)
			end := time.Now()
			mu.Lock()
			r.Outcomes[label]++
			r.Samples = append(r.Samples, stats.Sample{End: end, Latency: end.Sub(at), Failed: failed, Refused: refused})
			mu.Unlock()
		})
	}
	wg.Wait()
	r.Ended = time.Now()
	return r
}

// ParseConcurrencies reads a flag such as "1,8,32": positive integers.
func ParseConcurrencies(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad value %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
