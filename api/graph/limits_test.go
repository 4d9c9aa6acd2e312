package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// introspectionQuery is what GraphiQL and most tools send, with the deepest
// TypeRef in use (nine ofType levels).
const introspectionQuery = `
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`

func TestIntrospection(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	// No token needed: the schema is public, so the playground can load it.
	r := post(t, in.url, "", introspectionQuery, nil)
	r.ok(t)
	for _, want := range []string{`"name":"Notification"`, `"name":"NotificationType"`, `"name":"Time"`,
		`"name":"getNotifications"`, `"name":"markNotificationRead"`, `"name":"notificationAdded"`, `"defaultValue":"20"`} {
		if !strings.Contains(string(r.Data), want) {
			t.Errorf("introspection has no %s", want)
		}
	}
}

// The schema is the contract's, field for field.
func TestSchemaMatchesContract(t *testing.T) {
	src, err := os.ReadFile("schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	if gerr != nil {
		t.Fatal(gerr)
	}
	fields := func(typ string) map[string]string {
		def := schema.Types[typ]
		if def == nil {
			t.Fatalf("no type %s", typ)
		}
		out := map[string]string{}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			sig := f.Type.String()
			for _, a := range f.Arguments {
				sig += " " + a.Name + ":" + a.Type.String()
				if a.DefaultValue != nil {
					sig += "=" + a.DefaultValue.String()
				}
			}
			out[f.Name] = sig
		}
		return out
	}
	want := map[string]map[string]string{
		"Notification": {
			"id": "ID!", "type": "NotificationType!", "title": "String!", "message": "String!", "amount": "String",
			"reference": "String", "accountNumber": "String", "read": "Boolean!", "createdAt": "Time!",
		},
		"Query":        {"getNotifications": "[Notification!]! first:Int=20 after:String"},
		"Mutation":     {"markNotificationRead": "Notification! id:ID!"},
		"Subscription": {"notificationAdded": "Notification!"},
	}
	for typ, wantFields := range want {
		got := fields(typ)
		if len(got) != len(wantFields) {
			t.Errorf("%s has fields %v, want %v", typ, got, wantFields)
		}
		for name, sig := range wantFields {
			if got[name] != sig {
				t.Errorf("%s.%s = %q, want %q", typ, name, got[name], sig)
			}
		}
	}
	var values []string
	for _, v := range schema.Types["NotificationType"].EnumValues {
		values = append(values, v.Name)
	}
	if got := strings.Join(values, " "); got != "ACCOUNT_CREATED TRANSFER_DEBIT TRANSFER_CREDIT DEPOSIT TIER_UPGRADED TRANSFER_FAILED TRANSFER_PENDING_APPROVAL" {
		t.Errorf("NotificationType = %s", got)
	}
	if schema.Types["Time"].Kind != ast.Scalar {
		t.Error("Time is not a scalar")
	}
}

func TestLimits(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	tok := e.token(uuid.NewString())
	page := `getNotifications(first: 100) { ` + notificationFields + ` __typename }`

	t.Run("OneFullPageIsFine", func(t *testing.T) {
		post(t, in.url, tok, `{ `+page+` }`, nil).ok(t)
	})

	t.Run("Complexity", func(t *testing.T) {
		r := post(t, in.url, tok, `{ a: `+page+` b: `+page+` }`, nil)
		got := r.wantCode(t, "COMPLEXITY_LIMIT_EXCEEDED")
		if !strings.Contains(got.Message, "exceeds the limit of 1100") || string(r.Data) != "null" || r.Status != http.StatusUnprocessableEntity {
			t.Errorf("status %d: %s", r.Status, r.Raw)
		}
		// Variables count too.
		r = post(t, in.url, tok, `query($n: Int) { a: getNotifications(first: $n) { id } b: getNotifications(first: $n) { id }
			c: getNotifications(first: $n) { id } d: getNotifications(first: $n) { id } e: getNotifications(first: $n) { id }
			f: getNotifications(first: $n) { id } g: getNotifications(first: $n) { id } h: getNotifications(first: $n) { id }
			i: getNotifications(first: $n) { id } j: getNotifications(first: $n) { id } k: getNotifications(first: $n) { id } }`,
			map[string]any{"n": 100})
		r.wantCode(t, "COMPLEXITY_LIMIT_EXCEEDED")
	})

	t.Run("Depth", func(t *testing.T) {
		deep := `{ __type(name: "Notification") { ` + strings.Repeat("ofType { ", 15) + "name" + strings.Repeat(" }", 15) + ` } }`
		r := post(t, in.url, "", deep, nil)
		got := r.wantCode(t, "GRAPHQL_VALIDATION_FAILED")
		if !strings.Contains(got.Message, "more than the limit of 15") || r.Status != http.StatusUnprocessableEntity {
			t.Errorf("status %d, message %q", r.Status, got.Message)
		}
		// Through fragments, too.
		viaFragments := `{ __type(name: "Notification") { ...A } }
			fragment A on __Type { ofType { ofType { ofType { ofType { ...B } } } } }
			fragment B on __Type { ofType { ofType { ofType { ofType { ...C } } } } }
			fragment C on __Type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } }`
		post(t, in.url, "", viaFragments, nil).wantCode(t, "GRAPHQL_VALIDATION_FAILED")
		// Just inside the limit is fine.
		ok := `{ __type(name: "Notification") { ` + strings.Repeat("ofType { ", 13) + "name" + strings.Repeat(" }", 13) + ` } }`
		post(t, in.url, "", ok, nil).ok(t)
	})

	t.Run("IntrospectionRecursion", func(t *testing.T) {
		r := post(t, in.url, "", `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`, nil)
		r.wantCode(t, "GRAPHQL_VALIDATION_FAILED")
	})

	t.Run("NoSubscriptionOverHTTP", func(t *testing.T) {
		r := post(t, in.url, tok, `subscription { notificationAdded { id } }`, nil)
		got := r.wantCode(t, "GRAPHQL_VALIDATION_FAILED")
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(got.Message, "WebSocket") {
			t.Errorf("status %d: %s", r.Status, r.Raw)
		}
	})

	t.Run("NoBatching", func(t *testing.T) {
		one, _ := json.Marshal(map[string]string{"query": "{ __typename }"})
		batch := []byte("  [" + string(one) + "," + string(one) + "]")
		r := postRaw(t, in.url, tok, "application/json", batch)
		if r.Status != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", r.Status)
		}
		r.wantCode(t, "VALIDATION_FAILED")
	})

	t.Run("BodyTooLarge", func(t *testing.T) {
		body, _ := json.Marshal(map[string]string{"query": "{ __typename }", "pad": strings.Repeat("x", MaxBodyBytes)})
		r := postRaw(t, in.url, tok, "application/json", body)
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("status = %d, want 413", r.Status)
		}
		r.wantCode(t, "BODY_TOO_LARGE")
	})

	t.Run("MediaType", func(t *testing.T) {
		r := postRaw(t, in.url, tok, "text/plain", []byte(`{"query":"{ __typename }"}`))
		if r.Status != http.StatusUnsupportedMediaType {
			t.Errorf("status = %d, want 415", r.Status)
		}
		r.wantCode(t, "UNSUPPORTED_MEDIA_TYPE")
	})

	t.Run("GETWithoutHTML", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			req, _ := http.NewRequest(method, in.url+"?query=%7B__typename%7D", nil)
			req.Header.Set("Accept", "application/json")
			r := do(t, req)
			if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, POST" {
				t.Errorf("%s: status %d, Allow %q", method, r.Status, r.Header.Get("Allow"))
			}
			r.wantCode(t, "METHOD_NOT_ALLOWED")
		}
	})
}

func TestPlayground(t *testing.T) {
	e := newEnv(t)
	in := e.newInstance(instanceOptions{})
	req, _ := http.NewRequest(http.MethodGet, in.url, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The page's scripts are files of its own (no inline script under the
	// CSP), served by this handler: read them with the page.
	for _, m := range regexp.MustCompile(`<script src="(/graphql/[^"]+)"`).FindAllSubmatch(body, -1) {
		sresp, err := http.Get(strings.TrimSuffix(in.url, "/graphql") + string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		script, _ := io.ReadAll(sresp.Body)
		_ = sresp.Body.Close()
		if sresp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", m[1], sresp.StatusCode)
		}
		body = append(body, script...)
	}
	for _, want := range []string{"GraphiQL", "subscriptionUrl", `"/graphql"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("page has no %s", want)
		}
	}
}
