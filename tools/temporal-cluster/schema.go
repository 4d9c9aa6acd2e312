package main

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"

	"github.com/bankcore/bank/tools/temporal-cluster/internal/options"
)

// The server's embedded, versioned PostgreSQL schemas (what
// `temporal-sql-tool update-schema --schema-name …` applies).
const (
	schemaTemporal   = "postgresql/v12/temporal"
	schemaVisibility = "postgresql/v12/visibility"
)

// ensureSchema creates both databases when missing and brings their schemas
// to the version this server needs, with the server's own SQL tool: the same
// steps as `temporal-sql-tool create-database`, `setup-schema -v 0.0` and
// `update-schema`, each of which leaves a database that is already there,
// or already current, as it is. Every process of a cluster runs it at start;
// a PostgreSQL advisory lock lets one at a time in, so processes started
// together never race on a migration.
func ensureSchema(ctx context.Context, o options.Options, logger log.Logger) error {
	conn, err := pgx.Connect(ctx, o.Postgres.URL)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL (%s) for the schema lock: %w", o.Postgres, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	// Advisory locks are per database: every process locks in the admin
	// database, on a key of the cluster's two database names.
	key := schemaLockKey(o.DB, o.VisibilityDB)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("taking the schema lock: %w", err)
	}
	// Closing the connection releases the lock too, also when we crash.
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) }()

	for _, db := range []struct{ name, schema string }{
		{o.DB, schemaTemporal},
		{o.VisibilityDB, schemaVisibility},
	} {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := ensureDatabase(o, db.name, db.schema, logger); err != nil {
			return fmt.Errorf("database %s: %w", db.name, err)
		}
	}
	return nil
}

func ensureDatabase(o options.Options, name, schemaName string, logger log.Logger) error {
	// CREATE DATABASE name from the admin database; "already exists" is
	// success.
	if err := sqltool.DoCreateDatabase(sqlConfig(o.Postgres, name, 1), o.Postgres.AdminDB, logger); err != nil {
		return fmt.Errorf("creating it: %w", err)
	}
	conn, err := sqltool.NewConnection(sqlConfig(o.Postgres, name, 1), logger)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close()
	// The version tables, then version 0.0 unless a later one is recorded.
	if err := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
		return fmt.Errorf("setting up schema versioning: %w", err)
	}
	// Every versioned step above the recorded version, in order.
	if err := schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: name, SchemaName: schemaName}, logger).Run(); err != nil {
		return fmt.Errorf("updating schema: %w", err)
	}
	v, err := conn.ReadSchemaVersion()
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	logger.Info("schema is current", tag.NewStringTag("database", name), tag.NewStringTag("version", v))
	return nil
}

func schemaLockKey(db, visibilityDB string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("bankcore temporal-cluster schema\x00" + db + "\x00" + visibilityDB))
	return int64(h.Sum64()) // #nosec G115 -- a lock key: any 64 bits will do
}
