package system

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/bankcore/bank/bench/internal/stats"
)

// Subscribers are graphql-transport-ws clients of notificationAdded, one per
// user, spread over API instances; they record when each notification
// arrives.
type Subscribers struct {
	mu       sync.Mutex
	receipts map[string]time.Time // reference|type → first receipt
	dups     int
	conns    []*websocket.Conn
	By       map[int]bool // users with a subscriber
	Received atomic.Int64
	closed   atomic.Int64
}

// Subscribe connects one subscriber for each of the first count users,
// alternating between bases, conc at a time.
func Subscribe(ctx context.Context, bases []string, users []User, count, conc int) (*Subscribers, error) {
	s := &Subscribers{receipts: map[string]time.Time{}, By: map[int]bool{}}
	count = min(count, len(users))
	conns := make([]*websocket.Conn, count)
	err := parallel(ctx, count, conc, func(ctx context.Context, i int) error {
		c, err := s.dial(ctx, bases[i%len(bases)], users[i].Token)
		if err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		conns[i] = c
		return nil
	})
	for i, c := range conns {
		if c != nil {
			s.conns = append(s.conns, c)
			s.By[i] = true
		}
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	// The protocol has no subscribe acknowledgement.
	time.Sleep(500 * time.Millisecond)
	return s, nil
}

func (s *Subscribers) dial(ctx context.Context, base, token string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(base, "http") + "/graphql"
	conn, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	send := func(v any) error {
		raw, _ := json.Marshal(v)
		return conn.Write(dctx, websocket.MessageText, raw)
	}
	if err := send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}}); err != nil {
		return nil, err
	}
	_, raw, err := conn.Read(dctx)
	if err != nil {
		return nil, err
	}
	var ack struct{ Type string }
	if json.Unmarshal(raw, &ack) != nil || ack.Type != "connection_ack" {
		_ = conn.CloseNow()
		return nil, fmt.Errorf("connection_init answered %s", raw)
	}
	if err := send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": "subscription { notificationAdded { id type reference } }",
	}}); err != nil {
		return nil, err
	}
	go s.loop(conn)
	return conn, nil
}

func (s *Subscribers) loop(conn *websocket.Conn) {
	defer s.closed.Add(1)
	for {
		_, raw, err := conn.Read(context.Background())
		now := time.Now()
		if err != nil {
			return
		}
		var msg struct {
			Type    string `json:"type"`
			Payload struct {
				Data struct {
					N *struct {
						Type      string `json:"type"`
						Reference string `json:"reference"`
					} `json:"notificationAdded"`
				} `json:"data"`
			} `json:"payload"`
		}
		if json.Unmarshal(raw, &msg) != nil {
			continue
		}
		switch msg.Type {
		case "ping":
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = conn.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`))
			cancel()
		case "next":
			if n := msg.Payload.Data.N; n != nil {
				s.Received.Add(1)
				key := n.Reference + "|" + n.Type
				s.mu.Lock()
				if _, ok := s.receipts[key]; ok {
					s.dups++
				} else {
					s.receipts[key] = now
				}
				s.mu.Unlock()
			}
		}
	}
}

// Close disconnects every subscriber.
func (s *Subscribers) Close() {
	for _, c := range s.conns {
		_ = c.CloseNow()
	}
}

// Dropped is how many subscriber connections ended before Close.
func (s *Subscribers) Dropped() int { return int(s.closed.Load()) }

// Latency is notification latency over some transfers.
type Latency struct {
	Expected       int     `json:"expected"` // notifications due to subscribed parties of transfers answered 201
	Received       int     `json:"received"`
	Missing        int     `json:"missing"`
	Early          int     `json:"before_201"` // arrived before the client had read the 201 (the event is published inside the workflow)
	P50ms          float64 `json:"p50_ms"`
	P95ms          float64 `json:"p95_ms"`
	P99ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
	FromStartP50ms float64 `json:"from_request_start_p50_ms"`
	FromStartP99ms float64 `json:"from_request_start_p99_ms"`
}

// Latency matches the 201s of done to the receipts: time from the 201 to the
// subscriber's receipt of the party's notification, signed: negative when
// the notification came first (the event is published inside the workflow,
// before the API has its result), counted in Early too.
func (s *Subscribers) Latency(done []Done, phase string) Latency {
	var l Latency
	var lat, fromStart []time.Duration
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range done {
		if d.Phase != phase || d.At201.IsZero() {
			continue
		}
		for _, p := range []struct {
			user int
			typ  string
		}{{d.From, "TRANSFER_DEBIT"}, {d.To, "TRANSFER_CREDIT"}} {
			if !s.By[p.user] {
				continue
			}
			l.Expected++
			at, ok := s.receipts[d.Ref+"|"+p.typ]
			if !ok {
				l.Missing++
				continue
			}
			l.Received++
			x := at.Sub(d.At201)
			if x < 0 {
				l.Early++
			}
			lat = append(lat, x)
			fromStart = append(fromStart, at.Sub(d.Start))
		}
	}
	slices.Sort(lat)
	slices.Sort(fromStart)
	l.P50ms, l.P95ms, l.P99ms = msf(stats.Percentile(lat, .5)), msf(stats.Percentile(lat, .95)), msf(stats.Percentile(lat, .99))
	if len(lat) > 0 {
		l.MaxMs = msf(lat[len(lat)-1])
	}
	l.FromStartP50ms, l.FromStartP99ms = msf(stats.Percentile(fromStart, .5)), msf(stats.Percentile(fromStart, .99))
	return l
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
