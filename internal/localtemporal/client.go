package localtemporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// dial connects a client that logs nothing: the SDK's default logger would
// print to stdout on every health probe.
func dial(ctx context.Context, address, namespace string) (client.Client, error) {
	if namespace == "" {
		namespace = "default"
	}
	return client.DialContext(ctx, client.Options{
		HostPort:  address,
		Namespace: namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
}

// CheckHealth dials address and runs Temporal's gRPC health check.
func CheckHealth(ctx context.Context, address, namespace string) error {
	c, err := dial(ctx, address, namespace)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// EnsureSearchAttributes registers names as Keyword search attributes in
// namespace on a server we did not start (one from docker compose, or an
// older dev-server database). Attributes that already exist are fine; one
// that exists with another type is an error, since our queries would break.
func EnsureSearchAttributes(ctx context.Context, address, namespace string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if namespace == "" {
		namespace = "default"
	}
	c, err := dial(ctx, address, namespace)
	if err != nil {
		return fmt.Errorf("connecting to Temporal at %s: %w", address, err)
	}
	defer c.Close()

	existing, err := c.OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes in %q: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range names {
		if t, ok := existing.GetCustomAttributes()[name]; ok {
			if t != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
				return fmt.Errorf("search attribute %s exists in %q with type %s, want Keyword", name, namespace, t)
			}
			continue
		}
		if _, ok := existing.GetSystemAttributes()[name]; ok {
			return fmt.Errorf("search attribute %s is a system attribute", name)
		}
		missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		SearchAttributes: missing,
		Namespace:        namespace,
	})
	if err != nil && !isAlreadyExists(err) {
		return fmt.Errorf("adding search attributes to %q: %w", namespace, err)
	}
	return nil
}

// isAlreadyExists covers a concurrent registration by someone else, whichever
// way the SDK's interceptors surface it.
func isAlreadyExists(err error) bool {
	var ae *serviceerror.AlreadyExists
	if errors.As(err, &ae) || status.Code(err) == codes.AlreadyExists {
		return true
	}
	return strings.Contains(strings.ToLower(err.Error()), "already exists")
}
