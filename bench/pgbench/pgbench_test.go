package pgbench

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestPostScriptStatements checks that post.sql prepares the statements
// Ledger.Post sends (lockSQL inside the wrapper that gives \aset one row,
// clockSQL and writeSQL as they are), so the comparison does not drift
// when ledger.go changes.
func TestPostScriptStatements(t *testing.T) {
	body, err := Scripts.ReadFile(PostScript)
	if err != nil {
		t.Fatal(err)
	}
	script := squash(string(body))
	consts := stringConsts(t, "../../internal/postgres/ledger.go")
	for _, name := range []string{"lockSQL", "clockSQL", "writeSQL"} {
		sql, ok := consts[name]
		if !ok {
			t.Fatalf("ledger.go has no constant %s any more", name)
		}
		if !strings.Contains(script, squash(sql)) {
			t.Errorf("%s does not contain ledger.go's %s:\n%s", PostScript, name, sql)
		}
	}
}

func TestPostVars(t *testing.T) {
	for mode, sender := range map[string]string{"uniform": "0", "hot": "1"} {
		vars, err := PostVars(mode, 10, 3)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, v := range vars {
			got[v[0]] = v[1]
		}
		if got["sender"] != sender || got["naccounts"] != "10" || got["run"] != "3" || got["seq"] != "0" {
			t.Errorf("%s: %v", mode, vars)
		}
	}
	if _, err := PostVars("cold", 10, 3); err == nil {
		t.Error("unknown mode accepted")
	}
}

var space = regexp.MustCompile(`\s+`)

func squash(s string) string { return strings.TrimSpace(space.ReplaceAllString(s, " ")) }

// stringConsts returns the package-level string constants of a Go file.
func stringConsts(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out[name.Name] = v
			}
		}
	}
	return out
}
