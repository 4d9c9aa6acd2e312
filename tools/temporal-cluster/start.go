package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/api/adminservice/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/temporal"

	"github.com/bankcore/bank/tools/temporal-cluster/internal/options"
)

const (
	// frontendStartTimeout bounds the wait for our own frontend to serve
	// and the namespaces to be registered.
	frontendStartTimeout = 2 * time.Minute
	// stopTimeout bounds a graceful stop; the server drains in-flight
	// requests and hands its shards over before it returns.
	stopTimeout = time.Minute
)

// runStart runs the services o names until ctx ends. It prints one line
// beginning with readyPrefix to stdout once this process serves.
func runStart(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := options.Parse(args, os.Getenv)
	if err != nil {
		return err
	}
	if o.IP, err = resolveIP(o.IP); err != nil {
		return err
	}
	if o.FrontendAddress == "" {
		o.FrontendAddress = net.JoinHostPort(o.IP, strconv.Itoa(o.Ports.Frontend))
	}
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Stdout: true, Level: o.LogLevel, Format: o.LogFormat}))
	logger.Info("temporal-cluster starting", tag.NewStringTag("config", describe(o)))

	serverServices := slices.DeleteFunc(slices.Clone(o.Services), func(s string) bool { return s == options.UI })
	if err := checkPortsFree(o); err != nil {
		return err
	}

	var server temporal.Server
	if len(serverServices) > 0 {
		if o.SetupSchema {
			setupCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			err := ensureSchema(setupCtx, o, logger)
			cancel()
			if err != nil {
				return fmt.Errorf("schema: %w", err)
			}
		}
		server, err = newServer(o, serverServices, logger)
		if err != nil {
			return err
		}
		// Start returns once every service has started (joined its ring and
		// opened its listener); on failure it has already stopped the ones
		// that had (fx rolls back), so there is nothing to stop here.
		if err := server.Start(); err != nil {
			return fmt.Errorf("starting services %v: %w", serverServices, err)
		}
		defer func() {
			logger.Info("temporal-cluster stopping")
			if err := stopWithin(server, stopTimeout); err != nil {
				logger.Warn("stopping the server", tag.Error(err))
			}
		}()
	}

	uiURL := ""
	if o.Has(options.UI) {
		ui := startUI(o, logger)
		defer ui.Stop()
		uiURL = fmt.Sprintf("http://%s", net.JoinHostPort(o.IP, strconv.Itoa(o.Ports.UI)))
	}

	ready := fmt.Sprintf("%s services=%v", readyPrefix, o.Services)
	if o.Has(options.Frontend) {
		if err := bootstrap(ctx, o, logger); err != nil {
			return err
		}
		ready += fmt.Sprintf(" frontend=%s namespaces=%v", net.JoinHostPort(o.IP, strconv.Itoa(o.Ports.Frontend)),
			o.Namespaces)
	}
	if uiURL != "" {
		ready += " ui=" + uiURL
	}
	_, _ = fmt.Fprintln(stdout, ready)

	<-ctx.Done()
	return nil
}

// readyPrefix starts the line a process prints once it serves.
const readyPrefix = "temporal-cluster: ready"

func newServer(o options.Options, services []string, logger log.Logger) (temporal.Server, error) {
	// No authorizer: the frontend and the UI trust their network, as the dev
	// server does; docs/DEPLOYMENT.md says where they may listen.
	authorizer := authorization.NewNoopAuthorizer()
	claimMapper := authorization.NewNoopClaimMapper()
	server, err := temporal.NewServer(
		temporal.ForServices(services),
		temporal.WithConfig(serverConfig(o)),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dynamicConfigClient(o)),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
	)
	if err != nil {
		return nil, fmt.Errorf("configuring services %v: %w", services, err)
	}
	return server, nil
}

// bootstrap waits for this process's frontend to serve, then registers the
// namespaces and search attributes.
func bootstrap(ctx context.Context, o options.Options, logger log.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, frontendStartTimeout)
	defer cancel()
	address := net.JoinHostPort(o.IP, strconv.Itoa(o.Ports.Frontend))
	f, err := dialFrontend(address)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	report := func(what string, err error) {
		logger.Info("temporal-cluster still "+what, tag.Error(err))
	}
	if err := retry(ctx, "waiting for the frontend at "+address, f.serving, report); err != nil {
		return err
	}
	attrs := map[string]enumspb.IndexedValueType{}
	for name, typ := range o.SearchAttributes {
		v, err := enumspb.IndexedValueTypeFromString(typ)
		if err != nil {
			return fmt.Errorf("search attribute %s: %w", name, err)
		}
		attrs[name] = v
	}
	changed, err := registerNamespaces(ctx, f, o.Namespaces, o.Retention, attrs, report)
	if err != nil {
		return err
	}
	if changed {
		// Every service reads namespaces (and with SQL visibility, their
		// search attributes) from a cache refreshed every
		// system.namespaceCacheRefreshInterval (2 s). Give every process two
		// refreshes before announcing, so the first workflow that sets a
		// search attribute is not refused by a history host that has not
		// seen it yet. Only on the start that registered something.
		wait := 2 * dynamicconfig.NamespaceCacheRefreshInterval.Get(dynamicconfig.NewCollection(
			dynamicConfigClient(o), logger))()
		logger.Info("namespaces registered; waiting for every cache to see them", tag.NewDurationTag("wait", wait))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	cluster, err := f.admin.DescribeCluster(ctx, &adminservice.DescribeClusterRequest{})
	if err == nil && int(cluster.GetHistoryShardCount()) != o.HistoryShards {
		logger.Warn(fmt.Sprintf("this cluster was created with %d history shards; --history-shards %d is ignored "+
			"(the count is fixed when the database is created)", cluster.GetHistoryShardCount(), o.HistoryShards))
	}
	return nil
}

func dynamicConfigClient(o options.Options) dynamicconfig.Client {
	dyn := dynamicconfig.StaticClient{}
	for k, v := range o.DynamicConfig {
		dyn[dynamicconfig.Key(k)] = v
	}
	return dyn
}

// stopWithin stops the server, giving up after d (a stuck stop must not
// keep a killed container or a test waiting for ever).
func stopWithin(server temporal.Server, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- server.Stop() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		return fmt.Errorf("still stopping after %v", d)
	}
}

// resolveIP accepts an IP or a host name that resolves to one (a container's
// own name, for instance): the address must be one the other members can
// dial.
func resolveIP(host string) (string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return host, nil
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return "", fmt.Errorf("--ip %s: %w", host, err)
	}
	for _, ip := range ips {
		if ip4 := ip.To4(); ip4 != nil && !ip4.IsUnspecified() {
			return ip4.String(), nil
		}
	}
	for _, ip := range ips {
		if !ip.IsUnspecified() {
			return ip.String(), nil
		}
	}
	return "", fmt.Errorf("--ip %s resolves to no usable address", host)
}

// checkPortsFree fails fast, naming the flag, when a listener of this
// process cannot bind; the server's own errors are less direct and the UI
// server would exit the process from its goroutine.
func checkPortsFree(o options.Options) error {
	for _, l := range o.Ports.Listeners(o.Services) {
		ln, err := net.Listen("tcp", net.JoinHostPort(o.IP, strconv.Itoa(l.Port)))
		if err != nil {
			return fmt.Errorf("%s %d: %w", l.Flag, l.Port, err)
		}
		_ = ln.Close()
	}
	return nil
}
