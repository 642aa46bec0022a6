package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
	"github.com/eitaxii/eitaxii/store/postgres"
	"github.com/eitaxii/eitaxii/taxii"
)

// openStore opens the backend the configuration chooses: PostgreSQL when
// database_url is set, else the embedded bbolt file under data_dir. It
// also returns where the store is, for the log, without a password.
func openStore(ctx context.Context, cfg *Config, metrics *taxii.Metrics) (store.Store, string, error) {
	if cfg.DatabaseURL != "" {
		db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{})
		if err != nil {
			return nil, "", fmt.Errorf("database_url: %w", err)
		}
		return db, databaseName(cfg.DatabaseURL), nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("data_dir: %w", err)
	}
	path := filepath.Join(cfg.DataDir, storeFile)
	db, err := bolt.Open(path, bolt.Options{OnCommit: metrics.ObserveCommit})
	if err != nil {
		return nil, "", err
	}
	return db, path, nil
}

// databaseName describes a database URL for the log: scheme, user, host and
// database, never the password (nor query parameters, which may hold one).
// A key=value connection string is not described at all, for the same
// reason.
func databaseName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" && u.Path == "" {
		return "postgresql (connection string)"
	}
	d := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.User != nil {
		d.User = url.User(u.User.Username())
	}
	return d.String()
}
