// Package deploy holds the deployment files (compose.yaml here, the
// Dockerfiles at the repository root and in tools/temporal-cluster). No
// Docker engine runs in CI, so these tests check what can be checked
// without one: the files parse, the compose file has the shape
// docs/DEPLOYMENT.md describes, and no secret has a default.
package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Healthcheck *struct {
			Test    []string `yaml:"test"`
			Disable bool     `yaml:"disable"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) (composeFile, string) {
	t.Helper()
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c, string(raw)
}

func TestComposeRunsTheWholeBankOnTheCluster(t *testing.T) {
	c, _ := readCompose(t)
	count := map[string]int{}
	for name, svc := range c.Services {
		if svc.Image == "bankcore/bank" && len(svc.Command) > 0 {
			count["bank "+svc.Command[0]]++
		}
		if svc.Image == "bankcore/temporal-cluster" && len(svc.Command) > 2 && svc.Command[0] == "start" {
			i := slices.Index(svc.Command, "--services")
			if i < 0 || i+1 >= len(svc.Command) {
				t.Errorf("%s: start without --services", name)
				continue
			}
			count["temporal "+svc.Command[i+1]]++
		}
	}
	for what, n := range map[string]int{
		"bank api": 2, "bank worker": 2, "bank notifier": 1, "bank migrate": 1,
		"temporal frontend,matching,worker": 1, "temporal history": 2, "temporal ui": 1,
	} {
		if count[what] != n {
			t.Errorf("%d × %s, want %d (all: %v)", count[what], what, n, count)
		}
	}
	for _, svc := range []string{"postgres", "rabbitmq", "redis"} {
		if _, ok := c.Services[svc]; !ok {
			t.Errorf("no %s service", svc)
		}
	}
	for name, svc := range c.Services {
		for _, p := range svc.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s beyond the host's loopback", name, p)
			}
		}
		if svc.Image == "bankcore/bank" && svc.Healthcheck == nil && (len(svc.Command) == 0 || svc.Command[0] != "api") {
			t.Errorf("%s: the image's healthcheck asks /readyz, which only the API serves; override it", name)
		}
	}
}

// Every secret comes from the environment with no default (${VAR:?…}), so
// the file refuses to start rather than run a bank on published secrets.
func TestComposeHasNoDefaultSecrets(t *testing.T) {
	c, raw := readCompose(t)
	for _, secret := range []string{"POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "REDIS_PASSWORD", "JWT_SECRET", "PAYLOAD_KEY", "IDENTITY_KEY"} {
		uses := regexp.MustCompile(`\$\{`+secret+`([^}]*)\}`).FindAllStringSubmatch(raw, -1)
		if len(uses) == 0 {
			t.Errorf("%s is never set", secret)
		}
		for _, u := range uses {
			if !strings.HasPrefix(u[1], ":?") {
				t.Errorf("${%s%s}: want ${%s:?…}, required and without a default", secret, u[1], secret)
			}
		}
	}
	api := c.Services["bank-api-1"]
	for _, key := range []string{"JWT_SECRET", "PAYLOAD_KEY", "IDENTITY_KEY"} {
		if !strings.HasPrefix(api.Environment[key], "${"+key+":?") {
			t.Errorf("bank-api-1 %s = %q, want it from the environment", key, api.Environment[key])
		}
	}
	if strings.Contains(raw, "guest") && strings.Contains(raw, "amqp://guest") {
		t.Error("RabbitMQ's guest user (published password) is used")
	}
}

func TestDockerfilesRunStaticAsNonRoot(t *testing.T) {
	for _, tc := range []struct{ path, binary string }{
		{"../Dockerfile", "/out/bank"},
		{"../tools/temporal-cluster/Dockerfile", "/out/temporal-cluster"},
	} {
		raw, err := os.ReadFile(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		s := string(raw)
		for _, want := range []string{"CGO_ENABLED=0", "-o " + tc.binary, "USER nonroot", "FROM gcr.io/distroless/static"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %q", tc.path, want)
			}
		}
		if strings.Count(s, "\nFROM ") < 2 {
			t.Errorf("%s: want a multi-stage build", tc.path)
		}
	}
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`HEALTHCHECK[^\n]*\\\n[^\n]*healthcheck", "http://127\.0\.0\.1:8080/readyz"`).Match(raw) {
		t.Error("the bank image's HEALTHCHECK does not ask /readyz")
	}
}
