package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/api/adminservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The frontend's gRPC health service name (what `temporal operator cluster
// health` asks).
const frontendHealthService = "temporal.api.workflowservice.v1.WorkflowService"

// The roles whose rings a complete cluster has.
var roles = []string{"frontend", "history", "matching", "worker"}

// pollInterval paces the start-up and readiness loops; reportEvery says how
// often a loop that keeps failing says why.
const (
	pollInterval = 250 * time.Millisecond
	reportEvery  = 5 * time.Second
)

// frontendClient talks to a frontend the way any client does.
type frontendClient struct {
	conn     *grpc.ClientConn
	health   healthpb.HealthClient
	workflow workflowservice.WorkflowServiceClient
	operator operatorservice.OperatorServiceClient
	admin    adminservice.AdminServiceClient
}

func dialFrontend(address string) (*frontendClient, error) {
	conn, err := grpc.NewClient(address,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(serviceErrors))
	if err != nil {
		return nil, fmt.Errorf("frontend %s: %w", address, err)
	}
	return &frontendClient{
		conn:     conn,
		health:   healthpb.NewHealthClient(conn),
		workflow: workflowservice.NewWorkflowServiceClient(conn),
		operator: operatorservice.NewOperatorServiceClient(conn),
		admin:    adminservice.NewAdminServiceClient(conn),
	}, nil
}

func (f *frontendClient) Close() error { return f.conn.Close() }

// serviceErrors turns gRPC status errors into Temporal's typed service
// errors (NamespaceAlreadyExists, …), as the SDK's client does.
func serviceErrors(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return serviceerror.FromStatus(st)
	}
	return err
}

// serving reports whether the frontend answers its health check with SERVING.
func (f *frontendClient) serving(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := f.health.Check(ctx, &healthpb.HealthCheckRequest{Service: frontendHealthService})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("frontend health is %s", resp.GetStatus())
	}
	return nil
}

// retry calls fn until it succeeds or ctx ends, and returns fn's last error
// with ctx's. report, when not nil, hears of a failure every reportEvery.
func retry(ctx context.Context, what string, fn func(context.Context) error, report func(what string, err error)) error {
	var last error
	lastReport := time.Now()
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = fn(callCtx)
		cancel()
		if last == nil {
			return nil
		}
		if report != nil && time.Since(lastReport) >= reportEvery {
			report(what, last)
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %w)", what, ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}

// registerNamespaces makes every namespace exist with the search attributes,
// leaving what is already there as it is, and reports whether it changed
// anything.
func registerNamespaces(ctx context.Context, f *frontendClient, namespaces []string, retention time.Duration,
	searchAttrs map[string]enumspb.IndexedValueType, report func(string, error)) (changed bool, err error) {
	for _, ns := range namespaces {
		// A call that failed on our side may have registered it: "already
		// exists" after a failure of ours may be our own doing.
		failedBefore := false
		err := retry(ctx, "registering namespace "+ns, func(ctx context.Context) error {
			_, err := f.workflow.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
				Namespace:                        ns,
				Description:                      "registered by temporal-cluster",
				WorkflowExecutionRetentionPeriod: durationpb.New(retention),
			})
			var exists *serviceerror.NamespaceAlreadyExists
			switch {
			case err == nil:
				changed = true
				return nil
			case errors.As(err, &exists):
				changed = changed || failedBefore
				return nil
			}
			failedBefore = true
			return err
		}, report)
		if err != nil {
			return changed, err
		}
		// A namespace registered a moment ago may not be in the frontend's
		// namespace cache yet: the search attribute calls retry until it is.
		var permanent error
		err = retry(ctx, "search attributes of namespace "+ns, func(ctx context.Context) error {
			added, err := addSearchAttributes(ctx, f, ns, searchAttrs)
			if errors.Is(err, errTypeConflict) {
				permanent = err
				return nil
			}
			changed = changed || added
			return err
		}, report)
		if permanent != nil {
			return changed, permanent
		}
		if err != nil {
			return changed, err
		}
	}
	return changed, nil
}

var errTypeConflict = errors.New("search attribute already registered with another type")

func addSearchAttributes(ctx context.Context, f *frontendClient, ns string,
	want map[string]enumspb.IndexedValueType) (bool, error) {
	have, err := f.operator.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return false, err
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		got, ok := have.GetCustomAttributes()[name]
		if !ok {
			missing[name] = typ
			continue
		}
		if got != typ {
			return false, fmt.Errorf("%w: %s is %s in namespace %s, want %s", errTypeConflict, name, got, ns, typ)
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	_, err = f.operator.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: ns, SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) {
		// Another process added them between our list and our add; the next
		// round's list checks their types.
		return true, errors.New("added concurrently, checking again")
	}
	return err == nil, err
}

// Status is what `temporal-cluster status` prints: the cluster as its
// frontend sees it.
type Status struct {
	ServerVersion     string              `json:"server_version"`
	ClusterName       string              `json:"cluster_name"`
	HistoryShardCount int32               `json:"history_shard_count"`
	PersistenceStore  string              `json:"persistence_store"`
	VisibilityStore   string              `json:"visibility_store"`
	Rings             map[string][]string `json:"rings"`
	// ShardOwners maps each history host (its gRPC address) to the shards
	// it has acquired and serves.
	ShardOwners map[string][]int32 `json:"shard_owners"`
	// UnservedShards are shards no history host answered for.
	UnservedShards []int32 `json:"unserved_shards"`
	// Namespaces lists the namespaces asked about that exist, each with its
	// custom search attributes.
	Namespaces map[string][]string `json:"namespaces"`
}

// describeCluster asks the frontend for the membership rings, then each shard for
// its owner. Only the first call's failure is an error: the rest is
// reported in the Status.
func describeCluster(ctx context.Context, f *frontendClient, namespaces []string) (*Status, error) {
	cluster, err := f.admin.DescribeCluster(ctx, &adminservice.DescribeClusterRequest{})
	if err != nil {
		return nil, fmt.Errorf("describing the cluster: %w", err)
	}
	s := &Status{
		ServerVersion:     cluster.GetServerVersion(),
		ClusterName:       cluster.GetClusterName(),
		HistoryShardCount: cluster.GetHistoryShardCount(),
		PersistenceStore:  cluster.GetPersistenceStore(),
		VisibilityStore:   cluster.GetVisibilityStore(),
		Rings:             map[string][]string{},
		ShardOwners:       map[string][]int32{},
		UnservedShards:    []int32{},
		Namespaces:        map[string][]string{},
	}
	for _, ring := range cluster.GetMembershipInfo().GetRings() {
		var members []string
		for _, m := range ring.GetMembers() {
			members = append(members, m.GetIdentity())
		}
		sort.Strings(members)
		s.Rings[ring.GetRole()] = members
	}
	for shard := int32(1); shard <= s.HistoryShardCount; shard++ {
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		host, err := f.admin.DescribeHistoryHost(callCtx, &adminservice.DescribeHistoryHostRequest{ShardId: shard})
		cancel()
		if err != nil || host.GetAddress() == "" {
			s.UnservedShards = append(s.UnservedShards, shard)
			continue
		}
		s.ShardOwners[host.GetAddress()] = append(s.ShardOwners[host.GetAddress()], shard)
	}
	for _, ns := range namespaces {
		sa, err := f.operator.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err != nil {
			continue
		}
		names := []string{}
		for name := range sa.GetCustomAttributes() {
			names = append(names, name)
		}
		sort.Strings(names)
		s.Namespaces[ns] = names
	}
	return s, nil
}

// readiness says what keeps the cluster from being ready, or "" when it
// serves: a member in every ring (historyHosts in history), every shard
// served, every namespace there with every search attribute.
func (s *Status) readiness(namespaces, searchAttrs []string, historyHosts int) string {
	var missing []string
	for _, role := range roles {
		if len(s.Rings[role]) == 0 {
			missing = append(missing, "no "+role+" host")
		}
	}
	if n := len(s.Rings["history"]); n > 0 && n < historyHosts {
		missing = append(missing, fmt.Sprintf("%d of %d history hosts", n, historyHosts))
	}
	if len(s.UnservedShards) > 0 {
		missing = append(missing, fmt.Sprintf("shards %v not served", s.UnservedShards))
	}
	for _, ns := range namespaces {
		have, ok := s.Namespaces[ns]
		if !ok {
			missing = append(missing, "no namespace "+ns)
			continue
		}
		for _, sa := range searchAttrs {
			if !slices.Contains(have, sa) {
				missing = append(missing, fmt.Sprintf("no search attribute %s in %s", sa, ns))
			}
		}
	}
	return strings.Join(missing, "; ")
}
