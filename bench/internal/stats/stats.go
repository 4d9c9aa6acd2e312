// Package stats turns per-operation samples into throughput and latency
// percentiles over a measurement window. Every harness under bench/ uses it,
// so figures from different systems are computed the same way.
package stats

import (
	"math"
	"slices"
	"time"
)

// Sample is one finished operation: when it ended and how long it took.
type Sample struct {
	End     time.Time
	Latency time.Duration
	Failed  bool // an error (not counted in throughput or latency)
	Refused bool // completed as a stored refusal (counted, and counted apart)
}

// Summary is what a run reports. Durations are in milliseconds in JSON.
type Summary struct {
	Count     int     `json:"count"`  // successful operations in the window
	Errors    int     `json:"errors"` // failed operations in the window
	Refusals  int     `json:"refusals"`
	WindowSec float64 `json:"window_sec"`
	TPS       float64 `json:"tps"`
	P50ms     float64 `json:"p50_ms"`
	P90ms     float64 `json:"p90_ms"`
	P95ms     float64 `json:"p95_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	MeanMs    float64 `json:"mean_ms"`
	Total     int     `json:"total"` // every sample, warm-up and tail included
}

// Summarize measures over [start+warmup, start+warmup+duration], where start
// is when the earliest sample began (its end minus its latency): operations
// that end inside the window count. The window is cut at the last sample's
// end if the run stopped earlier, so a load generator that ends a little
// before its nominal time is not penalised.
func Summarize(samples []Sample, warmup, duration time.Duration) Summary {
	s := Summary{Total: len(samples)}
	if len(samples) == 0 {
		return s
	}
	start, last := samples[0].End.Add(-samples[0].Latency), samples[0].End
	for _, x := range samples {
		if b := x.End.Add(-x.Latency); b.Before(start) {
			start = b
		}
		if x.End.After(last) {
			last = x.End
		}
	}
	from := start.Add(warmup)
	to := from.Add(duration)
	if last.Before(to) {
		to = last
	}
	if !to.After(from) {
		return s
	}
	lat := make([]time.Duration, 0, len(samples))
	var sum time.Duration
	for _, x := range samples {
		if x.End.Before(from) || x.End.After(to) {
			continue
		}
		if x.Failed {
			s.Errors++
			continue
		}
		if x.Refused {
			s.Refusals++
		}
		lat = append(lat, x.Latency)
		sum += x.Latency
	}
	s.WindowSec = to.Sub(from).Seconds()
	s.Count = len(lat)
	s.TPS = float64(s.Count) / s.WindowSec
	if len(lat) == 0 {
		return s
	}
	slices.Sort(lat)
	s.P50ms = ms(Percentile(lat, 0.50))
	s.P90ms = ms(Percentile(lat, 0.90))
	s.P95ms = ms(Percentile(lat, 0.95))
	s.P99ms = ms(Percentile(lat, 0.99))
	s.MaxMs = ms(lat[len(lat)-1])
	s.MeanMs = ms(sum / time.Duration(len(lat)))
	return s
}

// Percentile is the nearest-rank percentile of sorted latencies (p in (0, 1]).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(sorted))*p)) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
