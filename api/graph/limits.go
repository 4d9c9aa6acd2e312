package graph

import (
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/bankcore/bank/internal/postgres"
)

// Limits on what one operation may ask for. Refused operations get a
// GRAPHQL_VALIDATION_FAILED (depth) or COMPLEXITY_LIMIT_EXCEEDED
// (complexity) error and run no resolver.
const (
	// MaxDepth is how deeply fields may nest. Our own types are two levels
	// deep; the standard introspection query of GraphiQL and other tools is
	// up to 15 (its TypeRef fragment nests ofType nine times at most).
	// gqlparser's MaxIntrospectionDepth rule separately stops the
	// fields→type→fields recursion that makes introspection expensive.
	MaxDepth = 15
	// MaxComplexity bounds the cost of an operation: every field costs 1,
	// and getNotifications costs its page size times its selection. One
	// full page (100) of every field plus __typename fits; two do not.
	MaxComplexity = 1100
	// MaxBodyBytes bounds a request body or WebSocket message, as in REST.
	MaxBodyBytes = 64 << 10
)

// complexityLimitExceeded is the code gqlgen's complexity limit uses.
const complexityLimitExceeded = "COMPLEXITY_LIMIT_EXCEEDED"

func init() {
	// A refused operation is the client's mistake, answered 422 like the
	// depth limit and other validation errors (gqlgen answers 200 for codes
	// it does not know). Registered once: gqlgen's table is global.
	errcode.RegisterErrorType(complexityLimitExceeded, errcode.KindProtocol)
}

// validationRules are gqlparser's defaults plus the depth limit and the
// spec's rules for a subscription's root (hardening.go). They run
// once per distinct query text (the parsed document is cached).
func validationRules() *rules.Rules {
	r := rules.NewDefaultRules()
	r.AddRule(maxDepthRule.Name, maxDepthRule.RuleFunc)
	r.AddRule(subscriptionRootRule.Name, subscriptionRootRule.RuleFunc)
	return r
}

var maxDepthRule = core.Rule{
	Name: "MaxDepth",
	RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
		observers.OnOperation(func(_ *core.Walker, op *ast.OperationDefinition) {
			d := depthMeter{fragments: map[string]int{}, visiting: map[string]bool{}}
			if depth := d.selectionSet(op.SelectionSet); depth > MaxDepth {
				addError(
					core.Message("operation nests fields %d levels deep, more than the limit of %d", depth, MaxDepth),
					core.At(op.Position),
				)
			}
		})
	},
}

// depthMeter measures how deeply fields nest, following fragment spreads.
// Each fragment is measured once (linear in the document), and a fragment
// cycle counts as no extra depth: NoFragmentCycles reports cycles.
type depthMeter struct {
	fragments map[string]int
	visiting  map[string]bool
}

func (d depthMeter) selectionSet(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		var depth int
		switch sel := sel.(type) {
		case *ast.Field:
			depth = 1 + d.selectionSet(sel.SelectionSet)
		case *ast.InlineFragment:
			depth = d.selectionSet(sel.SelectionSet)
		case *ast.FragmentSpread:
			depth = d.fragment(sel)
		}
		deepest = max(deepest, depth)
	}
	return deepest
}

func (d depthMeter) fragment(spread *ast.FragmentSpread) int {
	if spread.Definition == nil || d.visiting[spread.Name] {
		return 0
	}
	if depth, ok := d.fragments[spread.Name]; ok {
		return depth
	}
	d.visiting[spread.Name] = true
	depth := d.selectionSet(spread.Definition.SelectionSet)
	delete(d.visiting, spread.Name)
	d.fragments[spread.Name] = depth
	return depth
}

// complexity prices list fields by the size of the page they return.
func complexity() ComplexityRoot {
	var c ComplexityRoot
	c.Query.GetNotifications = func(childComplexity int, first *int, _ *string) int {
		size := min(max(pageSize(first), 1), postgres.MaxNotificationsPage)
		return 1 + size*childComplexity
	}
	return c
}
