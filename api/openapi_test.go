package api

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"go.yaml.in/yaml/v3"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
)

// The OpenAPI document is checked against the router, not generated from it:
// these tests fail when a route is added, removed or re-methoded without the
// document following (and the other way round).

const openAPIPath = "../docs/openapi.yaml"

var operationMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse %s: %v", openAPIPath, err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi = %q, want 3.1.x", v)
	}
	return doc
}

var pathParam = regexp.MustCompile(`\{[^}/]+\}`)

// routeKey names a route by method and pattern with parameter names erased,
// so the router's {number} matches the document's {account_number}.
func routeKey(method, pattern string) string {
	return strings.ToUpper(method) + " " + pathParam.ReplaceAllString(pattern, "{}")
}

func routerRoutes(t *testing.T) map[string]string {
	t.Helper()
	h := New(Deps{Tokens: token.NewIssuer([]byte("openapi-test-secret-openapi-test-secret"), time.Minute), BcryptCost: 4})
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("New returned %T, not a chi.Routes", h)
	}
	got := map[string]string{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		got[routeKey(method, route)] = method + " " + route
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestOpenAPIRoutesMatchRouter(t *testing.T) {
	doc := loadOpenAPI(t)
	served := routerRoutes(t)
	if len(served) == 0 {
		t.Fatal("the router serves no routes")
	}

	documented := map[string]string{}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for _, m := range operationMethods {
			if _, ok := ops[m]; ok {
				documented[routeKey(m, p)] = strings.ToUpper(m) + " " + p
			}
		}
	}

	// Endpoints the document names but does not describe as operations
	// (GraphQL, metrics, the codec server); their methods are not compared.
	var nonREST []string
	if list, ok := doc["x-non-rest-endpoints"].([]any); ok {
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				if p, ok := m["path"].(string); ok {
					nonREST = append(nonREST, p)
				}
			}
		}
	}
	isNonREST := func(route string) bool {
		_, pattern, _ := strings.Cut(route, " ")
		return nonRESTMatch(nonREST, pattern)
	}

	for k, route := range served {
		if _, ok := documented[k]; !ok && !isNonREST(route) {
			t.Errorf("the router serves %s, which %s does not document", route, openAPIPath)
		}
	}
	for k, op := range documented {
		if _, ok := served[k]; !ok {
			t.Errorf("%s documents %s, which the router does not serve", openAPIPath, op)
		}
	}
}

// nonRESTMatch reports whether a walked route pattern belongs to one of the
// non-REST endpoints. A handler mounted at /codec is walked as /codec,
// /codec/ and /codec/* with every method, so a pattern matches the
// endpoints at or below it.
func nonRESTMatch(nonREST []string, pattern string) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(pattern, "*"), "/")
	if base == "" {
		return false // "/" or "/*" would swallow everything
	}
	for _, p := range nonREST {
		if p == base || strings.HasPrefix(p, base+"/") {
			return true
		}
	}
	return false
}

func TestOpenAPINonRESTMatch(t *testing.T) {
	nonREST := []string{"/graphql", "/metrics", "/codec/encode", "/codec/decode"}
	for pattern, want := range map[string]bool{
		"/graphql": true, "/metrics": true, "/codec": true, "/codec/": true, "/codec/*": true,
		"/codec/encode": true, "/": false, "/*": false, "/graph": false, "/graphql2": false,
		"/accounts/{number}": false,
	} {
		if got := nonRESTMatch(nonREST, pattern); got != want {
			t.Errorf("nonRESTMatch(%q) = %v, want %v", pattern, got, want)
		}
	}
}

// resolve follows a local $ref ("#/components/...") to its target.
func resolve(doc map[string]any, ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("not a local reference: %s", ref)
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %q is not inside an object", ref, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("%s: no %q", ref, part)
		}
	}
	return cur, nil
}

// deref follows $ref chains of v, if any.
func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	for range 10 {
		m, _ := v.(map[string]any)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		target, err := resolve(doc, ref)
		if err != nil {
			t.Fatal(err)
		}
		v = target
	}
	t.Fatal("$ref chain too long")
	return nil
}

func TestOpenAPIReferencesResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := resolve(doc, ref); err != nil {
					t.Errorf("at %s: %v", where, err)
				}
			}
			for k, child := range v {
				walk(where+"/"+k, child)
			}
		case []any:
			for i, child := range v {
				walk(where+"/"+strconv.Itoa(i), child)
			}
		}
	}
	walk("#", doc)
}

func TestOpenAPIPathParametersDeclared(t *testing.T) {
	doc := loadOpenAPI(t)
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		inPath := map[string]bool{}
		for _, name := range pathParam.FindAllString(p, -1) {
			inPath[strings.Trim(name, "{}")] = true
		}
		declared := func(params any) map[string]bool {
			out := map[string]bool{}
			list, _ := params.([]any)
			for _, prm := range list {
				m := deref(t, doc, prm)
				if m["in"] == "path" {
					name, _ := m["name"].(string)
					out[name] = true
				}
			}
			return out
		}
		common := declared(ops["parameters"])
		for _, method := range operationMethods {
			op, ok := ops[method].(map[string]any)
			if !ok {
				continue
			}
			got := declared(op["parameters"])
			for name := range common {
				got[name] = true
			}
			for name := range inPath {
				if !got[name] {
					t.Errorf("%s %s: path parameter %q is not declared", strings.ToUpper(method), p, name)
				}
			}
			for name := range got {
				if !inPath[name] {
					t.Errorf("%s %s: declares path parameter %q, which the path does not have", strings.ToUpper(method), p, name)
				}
			}
		}
	}
}

// problemCodes collects the code enum of a problem schema: the codes listed
// in an allOf branch's properties.code.enum.
func problemCodes(t *testing.T, doc map[string]any, schema any) []string {
	t.Helper()
	s := deref(t, doc, schema)
	var codes []string
	if props, ok := s["properties"].(map[string]any); ok {
		if code, ok := props["code"].(map[string]any); ok {
			if enum, ok := code["enum"].([]any); ok {
				for _, c := range enum {
					codes = append(codes, fmt.Sprint(c))
				}
			}
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, branch := range all {
			if m, ok := branch.(map[string]any); ok && m["$ref"] != nil {
				continue // the base Problem lists every code
			}
			codes = append(codes, problemCodes(t, doc, branch)...)
		}
	}
	return codes
}

// TestOpenAPIErrorCodesMatchStatusTable checks the document's codes against
// statusOf, the one table from code to status: the ErrorCode enum and
// x-error-statuses name exactly its codes, and every problem response of
// every operation lists only codes of its own status.
func TestOpenAPIErrorCodesMatchStatusTable(t *testing.T) {
	doc := loadOpenAPI(t)

	var want []string
	for code := range statusOf {
		want = append(want, string(code))
	}
	slices.Sort(want)

	enumSchema := deref(t, doc, map[string]any{"$ref": "#/components/schemas/ErrorCode"})
	var enum []string
	for _, c := range enumSchema["enum"].([]any) {
		enum = append(enum, fmt.Sprint(c))
	}
	slices.Sort(enum)
	if !slices.Equal(enum, want) {
		t.Errorf("ErrorCode enum = %v, want the codes of statusOf %v", enum, want)
	}

	statuses, _ := doc["x-error-statuses"].(map[string]any)["statuses"].(map[string]any)
	if len(statuses) != len(statusOf) {
		t.Errorf("x-error-statuses names %d codes, statusOf %d", len(statuses), len(statusOf))
	}
	for code, status := range statusOf {
		if got, _ := statuses[string(code)].(int); got != status {
			t.Errorf("x-error-statuses[%s] = %v, want %d", code, statuses[string(code)], status)
		}
	}

	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for _, method := range operationMethods {
			op, ok := ops[method].(map[string]any)
			if !ok {
				continue
			}
			responses, _ := op["responses"].(map[string]any)
			for statusText, resp := range responses {
				status, err := strconv.Atoi(statusText)
				if err != nil {
					t.Errorf("%s %s: response %q is not a status code", strings.ToUpper(method), p, statusText)
					continue
				}
				content, _ := deref(t, doc, resp)["content"].(map[string]any)
				problem, ok := content["application/problem+json"].(map[string]any)
				if status >= 400 && !ok && p != "/readyz" {
					t.Errorf("%s %s %d: no application/problem+json body", strings.ToUpper(method), p, status)
				}
				if !ok {
					continue
				}
				codes := problemCodes(t, doc, problem["schema"])
				if len(codes) == 0 {
					t.Errorf("%s %s %d: the problem schema lists no code", strings.ToUpper(method), p, status)
				}
				for _, code := range codes {
					if got := statusOf[bank.Code(code)]; got != status {
						t.Errorf("%s %s %d lists %s, whose status is %d", strings.ToUpper(method), p, status, code, got)
					}
				}
			}
		}
	}
}
