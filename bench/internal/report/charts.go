package report

import (
	"fmt"
	"image/color"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
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
	widenLog(p)
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
	widenLog(p)
	path = filepath.Join(dir, "bench-latency.png")
	if err := p.Save(9*vg.Inch, 5.5*vg.Inch, path); err != nil {
		return nil, err
	}
	paths = append(paths, path)

	// CPU per operation, by process: the steadier figure on a shared machine.
	if path, err := r.cpuChart(dir); err != nil {
		return nil, err
	} else if path != "" {
		paths = append(paths, path)
	}
	return paths, nil
}

// widenLog gives a log axis holding a single value (one concurrency, one
// throughput) a range around it: log ticks over an empty range panic.
func widenLog(p *plot.Plot) {
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		if a.Min == a.Max && a.Min > 0 {
			a.Min, a.Max = a.Min/2, a.Max*2
		}
	}
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

// cpuChart draws one stacked bar per phase: CPU ms per completed operation
// of each process measured ("" when no phase ran).
func (r *Report) cpuChart(dir string) (string, error) {
	var phases []Phase
	phases = append(phases, r.Empty...)
	phases = append(phases, r.System...)
	if r.Notify != nil {
		phases = append(phases, *r.Notify)
	}
	if len(phases) == 0 {
		return "", nil
	}
	parts := []struct {
		name string
		v    func(CPU) *float64
	}{
		{"Temporal server", func(c CPU) *float64 { return c.ServerMs }},
		{"bank A (API + workers)", func(c CPU) *float64 { return c.BankAMs }},
		{"bank B (API)", func(c CPU) *float64 { return c.BankBMs }},
		{"notifier", func(c CPU) *float64 { return c.NotifierMs }},
		{"load generator (bench)", func(c CPU) *float64 { return &c.SelfMs }},
		{"PostgreSQL", func(c CPU) *float64 { return c.PostgresMs }},
		{"RabbitMQ + Redis", func(c CPU) *float64 { return c.BrokerMs }},
	}
	p := plot.New()
	p.Title.Text = "CPU per completed operation, by process (n/a parts left out)"
	p.Y.Label.Text = "CPU ms per op"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	names := make([]string, len(phases))
	for i, ph := range phases {
		names[i] = ph.Name
	}
	width := vg.Points(min(36, 500/float64(len(phases))))
	totals := make([]float64, len(phases))
	var below *plotter.BarChart
	for i, part := range parts {
		vals := make(plotter.Values, len(phases))
		measured := false
		for j, ph := range phases {
			if v := part.v(ph.CPU); v != nil {
				vals[j], measured = *v, true
				totals[j] += *v
			}
		}
		if !measured {
			continue
		}
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return "", fmt.Errorf("cpu chart %s: %w", part.name, err)
		}
		bc.Color = plotutil.Color(i)
		bc.LineStyle.Width = 0
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc)
		p.Legend.Add(part.name, bc)
	}
	p.NominalX(names...)
	// Room for every bar and, above the tallest, for the legend.
	p.X.Min, p.X.Max = -0.7, float64(len(phases))-0.3
	p.Y.Min, p.Y.Max = 0, max(1, slices.Max(totals))*1.45
	p.X.Tick.Label.Rotation = 0.7
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	path := filepath.Join(dir, "bench-cpu.png")
	if err := p.Save(10*vg.Inch, 6*vg.Inch, path); err != nil {
		return "", err
	}
	return path, nil
}
