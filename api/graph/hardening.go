package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/strictjson"
)

// Limits on one document and one socket, besides depth and complexity
// (limits.go).
const (
	// MaxFields is how many field selections one document may write,
	// fragments included; GraphiQL's introspection query has about 70.
	MaxFields = 200
	// MaxAliases is how many aliased fields one document may write. An
	// alias asks for the same field again: hundreds of them are a cheap
	// way to make the server work.
	MaxAliases = 30
	// MaxSubscriptionsPerSocket is how many subscriptions one WebSocket may
	// hold at once. A client needs one (every notificationAdded delivers
	// the same events); each more multiplies the fan-out's work.
	MaxSubscriptionsPerSocket = 5
)

// subscriptionRootRule makes a subscription select exactly one root field
// and put no @skip or @include at its root, as the GraphQL spec requires
// ("Single root field"). gqlparser's SingleFieldSubscriptions counts field
// names, so two aliases of one field passed, and gqlgen then answered them,
// and a root under @include(if: false), with an internal error.
var subscriptionRootRule = core.Rule{
	Name: "SubscriptionRoot",
	RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
		observers.OnOperation(func(_ *core.Walker, op *ast.OperationDefinition) {
			if op.Operation != ast.Subscription {
				return
			}
			keys := map[string]bool{}
			visited := map[string]bool{}
			var walk func(set ast.SelectionSet)
			walk = func(set ast.SelectionSet) {
				for _, sel := range set {
					var dirs ast.DirectiveList
					switch sel := sel.(type) {
					case *ast.Field:
						dirs = sel.Directives
						keys[sel.Alias] = true // gqlparser sets Alias to Name when there is none
					case *ast.InlineFragment:
						dirs = sel.Directives
						walk(sel.SelectionSet)
					case *ast.FragmentSpread:
						dirs = sel.Directives
						if sel.Definition != nil && !visited[sel.Name] {
							visited[sel.Name] = true
							walk(sel.Definition.SelectionSet)
						}
					}
					for _, d := range dirs {
						if d.Name == "skip" || d.Name == "include" {
							addError(core.Message("a subscription's root selection must not use @%s", d.Name), core.At(d.Position))
						}
					}
				}
			}
			walk(op.SelectionSet)
			if len(keys) > 1 {
				addError(core.Message("a subscription must select exactly one root field, not %d", len(keys)), core.At(op.Position))
			}
		})
	},
}

// documentLimits refuses a document with more than MaxFields field
// selections or MaxAliases aliases, counted where they are written. Like
// the complexity limit, whose code it shares, it is the client's mistake
// (422) and runs no resolver.
type documentLimits struct{}

var _ graphql.OperationContextMutator = documentLimits{}

func (documentLimits) ExtensionName() string { return "DocumentLimits" }

func (documentLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (documentLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Doc == nil {
		return nil
	}
	var fields, aliases int
	var count func(set ast.SelectionSet)
	count = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				fields++
				if sel.Alias != sel.Name {
					aliases++
				}
				count(sel.SelectionSet)
			case *ast.InlineFragment:
				count(sel.SelectionSet)
			}
		}
	}
	for _, op := range oc.Doc.Operations {
		count(op.SelectionSet)
	}
	for _, f := range oc.Doc.Fragments {
		count(f.SelectionSet)
	}
	var err *gqlerror.Error
	switch {
	case aliases > MaxAliases:
		err = gqlerror.Errorf("the document has %d aliases, more than the limit of %d", aliases, MaxAliases)
	case fields > MaxFields:
		err = gqlerror.Errorf("the document selects %d fields, more than the limit of %d", fields, MaxFields)
	default:
		return nil
	}
	errcode.Set(err, complexityLimitExceeded)
	return err
}

// socketSubscriptions counts one socket's live subscriptions.
type socketSubscriptions struct {
	mu sync.Mutex
	n  int
}

type socketSubscriptionsKey struct{}

// acquireSubscription takes one of the socket's subscription slots; release
// gives it back. Errors: RATE_LIMITED when the socket holds the most.
func acquireSubscription(ctx context.Context) (release func(), err error) {
	s, _ := ctx.Value(socketSubscriptionsKey{}).(*socketSubscriptions)
	if s == nil {
		return func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n >= MaxSubscriptionsPerSocket {
		return nil, bank.Errorf(bank.CodeRateLimited,
			"at most %d subscriptions per connection; one notificationAdded receives every notification", MaxSubscriptionsPerSocket)
	}
	s.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.n--
			s.mu.Unlock()
		})
	}, nil
}

// The graphql-transport-ws protocol's close codes for a client that breaks
// it (github.com/enisdenjo/graphql-ws, PROTOCOL.md).
const (
	CloseBadRequest      = 4400 // a message that is not one of the protocol's
	CloseTooManyInits    = 4429 // a second connection_init
	CloseSubscriberInUse = 4409 // a subscribe whose id is in use
)

// protocolGuard closes graphql-transport-ws sockets with the protocol's own
// codes where gqlgen would close them with 1002, or not at all: a subscribe
// before connection_init (4401), a second connection_init (4429), a
// subscribe whose id is already in use (4409, where gqlgen would lose the
// first subscription's handle), and a message that is not the protocol's
// or whose JSON is ambiguous (4400). It reads each message before gqlgen
// does and watches the server's complete and error messages to know which
// ids are free again. Legacy graphql-ws sockets pass through.
type protocolGuard struct {
	inner transport.WebsocketImplementation
}

func (g protocolGuard) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := g.inner.Accept(w, r, opts)
	if err != nil || conn.Subprotocol() != "graphql-transport-ws" {
		return conn, err
	}
	return &guardedConn{WebsocketConn: conn, active: map[string]bool{}}, nil
}

type guardedConn struct {
	transport.WebsocketConn
	mu          sync.Mutex
	initialised bool
	active      map[string]bool // subscribe ids the server has not completed
}

type wsEnvelope struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (c *guardedConn) NextReader() (int, io.Reader, error) {
	typ, r, err := c.WebsocketConn.NextReader()
	if err != nil {
		return typ, r, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return typ, nil, err
	}
	var m wsEnvelope
	if strictjson.Check(data) != nil || json.Unmarshal(data, &m) != nil {
		return c.refuse(CloseBadRequest, "Invalid message received")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m.Type {
	case "connection_init":
		if c.initialised {
			return c.refuseLocked(CloseTooManyInits, "Too many initialisation requests")
		}
		c.initialised = true
	case "subscribe":
		switch {
		case !c.initialised:
			return c.refuseLocked(CloseUnauthorized, "Unauthorized")
		case m.ID == "":
			return c.refuseLocked(CloseBadRequest, "Invalid message received")
		case c.active[m.ID]:
			return c.refuseLocked(CloseSubscriberInUse, "Subscriber for "+m.ID+" already exists")
		}
		c.active[m.ID] = true
	case "complete":
		delete(c.active, m.ID)
	case "ping", "pong":
	default:
		return c.refuseLocked(CloseBadRequest, "Invalid message received")
	}
	return typ, bytes.NewReader(data), nil
}

// WriteJSON frees an id once the server completes it or reports its error.
func (c *guardedConn) WriteJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var m wsEnvelope
	if json.Unmarshal(data, &m) == nil && (m.Type == "complete" || m.Type == "error") && m.ID != "" {
		c.mu.Lock()
		delete(c.active, m.ID)
		c.mu.Unlock()
	}
	return c.WebsocketConn.WriteJSON(json.RawMessage(data))
}

func (c *guardedConn) refuse(code int, reason string) (int, io.Reader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refuseLocked(code, reason)
}

// refuseLocked closes the socket with code; gqlgen then sees a closed
// connection (its own close that follows is a no-op).
func (c *guardedConn) refuseLocked(code int, reason string) (int, io.Reader, error) {
	_ = c.WriteClose(code, reason)
	return 0, nil, transport.ErrWebsocketClosed
}

// The transport enforces PayloadReadLimit and the ping/pong deadline only
// through these; pass them on.

func (c *guardedConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c *guardedConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
