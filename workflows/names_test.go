package workflows_test

import (
	"os"
	"strings"
	"testing"

	"github.com/bankcore/bank/workflows"
)

// The production-shaped Temporal server (tools/temporal-cluster, a module of
// its own that cannot import this one) registers the search attributes its
// search_attributes.txt lists. A workflow that set one missing there would
// fail to start on that server.
func TestClusterRegistersEverySearchAttribute(t *testing.T) {
	const list = "../tools/temporal-cluster/internal/options/search_attributes.txt"
	b, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if name := strings.TrimSpace(line); name != "" && !strings.HasPrefix(name, "#") {
			listed[name] = true
		}
	}
	for _, name := range workflows.SearchAttributes {
		if !listed[name] {
			t.Errorf("search attribute %s is not in %s", name, list)
		}
	}
}
