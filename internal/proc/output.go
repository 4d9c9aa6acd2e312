package proc

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// TailBuffer keeps the last bytes written to it: a child process's output,
// quoted when the process fails. Safe for concurrent writers.
type TailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// NewTailBuffer keeps the last limit bytes.
func NewTailBuffer(limit int) *TailBuffer { return &TailBuffer{max: limit} }

func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String is everything kept, trimmed; "(no output)" when there is none.
func (t *TailBuffer) String() string { return t.Last(t.max) }

// Last is the last n bytes kept, from the start of a line.
func (t *TailBuffer) Last(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if cut := len(b) - n; cut > 0 {
		b = b[cut:]
		if i := bytes.IndexByte(b, '\n'); t.buf[cut-1] != '\n' && i >= 0 {
			b = b[i+1:] // a partial first line says nothing
		}
	}
	if b = bytes.TrimSpace(b); len(b) == 0 {
		return "(no output)"
	}
	return string(b)
}

// logMu serialises the lines of every PrefixWriter, so processes sharing a
// log never interleave within a line.
var logMu sync.Mutex

// PrefixWriter writes whole lines to W, each led by Prefix: several
// processes' output in one log, told apart.
type PrefixWriter struct {
	W      io.Writer
	Prefix string
	part   []byte
}

func (p *PrefixWriter) Write(b []byte) (int, error) {
	p.part = append(p.part, b...)
	i := bytes.LastIndexByte(p.part, '\n')
	if i < 0 {
		return len(b), nil
	}
	lines := strings.SplitAfter(string(p.part[:i+1]), "\n")
	p.part = append(p.part[:0], p.part[i+1:]...)
	var out strings.Builder
	for _, l := range lines {
		if l != "" {
			out.WriteString(p.Prefix + l)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	_, _ = io.WriteString(p.W, out.String()) // best effort: never fail the child's pipe
	return len(b), nil
}
