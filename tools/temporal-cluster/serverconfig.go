package main

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"go.temporal.io/server/common/auth"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"

	"github.com/bankcore/bank/tools/temporal-cluster/internal/options"
)

// clusterName is the name this cluster gives itself; it is stored in the
// database on first start and never changes.
const clusterName = "active"

const (
	storeDefault    = "postgres-default"
	storeVisibility = "postgres-visibility"
)

// serverConfig is the server's static configuration for o. Every process of
// one cluster builds the same configuration except for the addresses and the
// services it runs, as with Temporal's own config files.
func serverConfig(o options.Options) *config.Config {
	var c config.Config
	c.Log = log.Config{Stdout: true, Level: o.LogLevel, Format: o.LogFormat}

	// Membership: every service of every process joins a gossip ring on its
	// membership port, bootstrapped from the cluster_membership table, so
	// processes find each other through the database and a host that stops
	// answering is dropped from the ring (its shards move to the others).
	c.Global.Membership.MaxJoinDuration = 30 * time.Second
	c.Global.Membership.BroadcastAddress = o.IP
	if o.Ports.Metrics > 0 {
		c.Global.Metrics = &metrics.Config{Prometheus: &metrics.PrometheusConfig{
			Framework:     "tally",
			TimerType:     "histogram",
			ListenAddress: net.JoinHostPort(o.IP, strconv.Itoa(o.Ports.Metrics)),
			HandlerPath:   "/metrics",
		}}
	}

	c.Persistence.DefaultStore = storeDefault
	c.Persistence.VisibilityStore = storeVisibility
	c.Persistence.NumHistoryShards = int32(o.HistoryShards)
	c.Persistence.DataStores = map[string]config.DataStore{
		storeDefault:    {SQL: sqlConfig(o.Postgres, o.DB, o.MaxConns)},
		storeVisibility: {SQL: sqlConfig(o.Postgres, o.VisibilityDB, visibilityConns(o.MaxConns))},
	}

	c.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             o.FrontendAddress,
			},
		},
	}
	c.DCRedirectionPolicy.Policy = "noop"

	rpc := func(grpcPort, membershipPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpcPort, MembershipPort: membershipPort, BindOnIP: o.IP}}
	}
	p := o.Ports
	frontend := rpc(p.Frontend, p.FrontendMembership)
	frontend.RPC.HTTPPort = p.FrontendHTTP
	c.Services = map[string]config.Service{
		options.Frontend: frontend,
		options.History:  rpc(p.History, p.HistoryMembership),
		options.Matching: rpc(p.Matching, p.MatchingMembership),
		options.Worker:   rpc(p.Worker, p.WorkerMembership),
	}
	// PublicClient stays empty: the system worker finds a frontend through
	// membership, so it works wherever the frontends run.

	c.Archival.History.State = "disabled"
	c.Archival.Visibility.State = "disabled"
	c.NamespaceDefaults.Archival.History.State = "disabled"
	c.NamespaceDefaults.Archival.Visibility.State = "disabled"
	return &c
}

// visibilityConns: visibility takes a few writes per workflow and the
// UI's reads; Temporal's sample configs give it a tenth of the main pool.
func visibilityConns(maxConns int) int {
	return max(2, maxConns/4)
}

// sqlConfig connects through pgx (the postgres12_pgx plugin).
func sqlConfig(pg options.Postgres, db string, maxConns int) *config.SQL {
	c := &config.SQL{
		PluginName:        postgresql.PluginNamePGX,
		DatabaseName:      db,
		ConnectAddr:       net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)),
		ConnectProtocol:   "tcp",
		User:              pg.User,
		Password:          pg.Password,
		ConnectAttributes: map[string]string{},
		MaxConns:          maxConns,
		MaxIdleConns:      maxConns,
		MaxConnLifetime:   time.Hour,
	}
	for k, v := range pg.Attributes {
		c.ConnectAttributes[k] = v
	}
	if pg.TLS {
		// The plugin knows two levels: require (no check) and verify-full;
		// verify-ca is taken as verify-full, the stricter of the two.
		c.TLS = &auth.TLS{
			Enabled:                true,
			EnableHostVerification: pg.VerifyHost,
			CaFile:                 pg.RootCert,
			CertFile:               pg.Cert,
			KeyFile:                pg.Key,
		}
	}
	return c
}

// describe names what this process runs, for its first log line.
func describe(o options.Options) string {
	return fmt.Sprintf("services=%v ip=%s shards=%d postgres=%s db=%s visibility-db=%s",
		o.Services, o.IP, o.HistoryShards, o.Postgres, o.DB, o.VisibilityDB)
}
