package report

import (
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

type series struct {
	name string
	pts  plotter.XYs
	dash bool
}

func (r *Report) phases(mode string) []Phase {
	var out []Phase
	src := r.System
	if mode == "empty" {
		src = r.Empty
	}
	for _, p := range src {
		if p.Mode == mode {
			out = append(out, p)
		}
	}
	return out
}

func xy(ps []Phase, f func(Phase) float64) plotter.XYs {
	var pts plotter.XYs
	for _, p := range ps {
		if v := f(p); v > 0 {
			pts = append(pts, plotter.XY{X: float64(p.Concurrency), Y: v})
		}
	}
	return pts
}

// Charts writes the PNGs into dir and returns their paths: throughput vs
// concurrency (system and baselines, log scale), latency percentiles, and
// server CPU per operation.
func (r *Report) Charts(dir string) ([]string, error) {
	var paths []string
	tps := func(p Phase) float64 { return p.Latency.TPS }
	// Throughput.
	var ss []series
	ss = append(ss, series{name: "POST /transfers uniform", pts: xy(r.phases("uniform"), tps)})
	ss = append(ss, series{name: "POST /transfers hot sender", pts: xy(r.phases("hot"), tps)})
	ss = append(ss, series{name: "empty workflow (ceiling)", pts: xy(r.phases("empty"), tps), dash: true})
	for _, mode := range []string{"uniform", "hot"} {
		var st, pg plotter.XYs
		for _, c := range r.StorePair {
			if c.Mode == mode {
				st = append(st, plotter.XY{X: float64(c.Concurrency), Y: c.Store.TPS})
				pg = append(pg, plotter.XY{X: float64(c.Concurrency), Y: c.Pgbench.TPS})
			}
		}
		ss = append(ss, series{name: "ledger store " + mode, pts: st, dash: true}, series{name: "pgbench " + mode, pts: pg, dash: true})
	}
	p := plot.New()
	p.Title.Text = "Throughput vs concurrency (" + r.Started.Format("2006-01-02 15:04 MST") + ")"
	p.X.Label.Text = "concurrency (closed-loop callers)"
	p.Y.Label.Text = "operations/s (log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	if err := addLines(p, ss); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "bench-throughput.png")
	if err := p.Save(9*vg.Inch, 5.5*vg.Inch, path); err != nil {
		return nil, err
	}
	paths = append(paths, path)

	// Latency percentiles.
	p = plot.New()
	p.Title.Text = "Latency percentiles vs concurrency"
	p.X.Label.Text = "concurrency"
	p.Y.Label.Text = "ms (log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	ss = nil
	for _, m := range []struct{ mode, name string }{{"uniform", "transfers uniform"}, {"hot", "transfers hot"}, {"empty", "empty workflow"}} {
		ps := r.phases(m.mode)
		ss = append(ss,
			series{name: m.name + " p50", pts: xy(ps, func(p Phase) float64 { return p.Latency.P50ms })},
			series{name: m.name + " p95", pts: xy(ps, func(p Phase) float64 { return p.Latency.P95ms })},
			series{name: m.name + " p99", pts: xy(ps, func(p Phase) float64 { return p.Latency.P99ms }), dash: true})
	}
	if err := addLines(p, ss); err != nil {
		return nil, err
	}
	path = filepath.Join(dir, "bench-latency.png")
	if err := p.Save(9*vg.Inch, 5.5*vg.Inch, path); err != nil {
		return nil, err
	}
	paths = append(paths, path)

	// CPU per operation: the steadier figure on a shared machine.
	p = plot.New()
	p.Title.Text = "CPU per completed operation"
	p.X.Label.Text = "concurrency"
	p.Y.Label.Text = "CPU ms per op"
	ss = nil
	for _, m := range []struct{ mode, name string }{{"uniform", "transfer uniform"}, {"hot", "transfer hot"}, {"empty", "empty workflow"}} {
		ps := r.phases(m.mode)
		ss = append(ss,
			series{name: m.name + ": Temporal server", pts: xy(ps, func(p Phase) float64 { return p.CPU.ServerMs })},
			series{name: m.name + ": bench process", pts: xy(ps, func(p Phase) float64 { return p.CPU.SelfMs }), dash: true})
	}
	if err := addLines(p, ss); err != nil {
		return nil, err
	}
	path = filepath.Join(dir, "bench-cpu.png")
	if err := p.Save(9*vg.Inch, 5.5*vg.Inch, path); err != nil {
		return nil, err
	}
	paths = append(paths, path)
	return paths, nil
}

func addLines(p *plot.Plot, ss []series) error {
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		if len(s.pts) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.pts)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		c := plotutil.Color(i)
		l.Color, pts.Color = c, c
		pts.Shape = plotutil.Shape(i)
		if s.dash {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		l.Width = vg.Points(1.5)
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	_ = color.Black
	return nil
}
