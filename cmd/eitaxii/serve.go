package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"text/template"
	"time"

	"github.com/eitaxii/eitaxii/delivery"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/taxii"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// Defaults of the embedded configuration.
const (
	defaultListen  = "127.0.0.1:8080"
	defaultDataDir = "./eitaxii-data"
	starterConfig  = "eitaxii.yaml" // written into the data directory on first start
	storeFile      = "eitaxii.db"
)

// Server timeouts: bounded so that a slow or idle client cannot hold a
// connection (or the write lock, which is only taken after the body is read).
// maxHeaderBytes is Go's own bound, well above the server's TAXII one
// (taxii.DefaultMaxHeaderBytes), which answers with a TAXII error instead of
// Go's plain-text 431.
const (
	writeTimeout    = 2 * time.Minute
	idleTimeout     = 2 * time.Minute
	maxHeaderBytes  = 1 << 20
	shutdownTimeout = 30 * time.Second
)

// The read timeouts are variables so that the slow-client test can shorten
// them.
var (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 2 * time.Minute
)

func runServe(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	configPath := fs.String("config", "", "configuration file (YAML); without it, the embedded default")
	listen := fs.String("listen", "", "address to listen on (overrides the file; default "+defaultListen+")")
	dataDir := fs.String("data-dir", "", "directory of the store (overrides the file; default "+defaultDataDir+")")
	databaseURL := fs.String("database-url", "", "PostgreSQL URL of the store (overrides EITAXII_DATABASE_URL and the file; default: the embedded store under the data directory)")
	insecure := fs.Bool("insecure-http", false, "allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}

	var cfg *Config
	var err error
	if *configPath != "" {
		if cfg, err = loadConfig(*configPath); err != nil {
			return err
		}
	} else {
		dir := *dataDir
		if dir == "" {
			dir = defaultDataDir
		}
		if cfg, err = starter(dir, e); err != nil {
			return err
		}
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if url := e.variable("EITAXII_DATABASE_URL"); url != "" {
		cfg.DatabaseURL = url
	}
	if *databaseURL != "" {
		cfg.DatabaseURL = *databaseURL
	}
	if cfg.Listen == "" {
		cfg.Listen = defaultListen
	}
	if cfg.DataDir == "" {
		cfg.DataDir = defaultDataDir
	}
	useTLS := cfg.TLS.CertFile != "" || cfg.TLS.KeyFile != ""
	if useTLS && (cfg.TLS.CertFile == "" || cfg.TLS.KeyFile == "") {
		return errors.New("tls: give both cert_file and key_file")
	}
	if !useTLS && !*insecure && !loopback(cfg.Listen) {
		return fmt.Errorf("listen: %s is not a loopback address and no TLS is configured; set tls.cert_file and tls.key_file, or pass --insecure-http behind a TLS-terminating proxy", cfg.Listen)
	}
	return serve(ctx, cfg, useTLS, *insecure, e)
}

// loopback reports whether addr listens only on a loopback interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// gcPercent is the garbage collector's target unless GOGC says otherwise.
// Publishing allocates a lot of short-lived memory (decoded objects) while
// the live heap stays small (tens of MB), so collecting less often buys
// about a sixth more ingest throughput for a heap that stays well below
// 100 MB.
const gcPercent = 300

func serve(ctx context.Context, cfg *Config, useTLS, behindProxy bool, e *env) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	metrics := taxii.NewMetrics()
	db, where, err := openStore(ctx, cfg, metrics)
	if err != nil {
		return err
	}
	defer db.Close() // after the HTTP server has drained: see Shutdown below
	validator, err := stix.NewValidator()
	if err != nil {
		return err
	}
	opts, err := cfg.serverOptions()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	opts.Logger = log
	opts.Metrics = metrics
	// Behind a TLS-terminating proxy the browser speaks TLS: the console's
	// cookie must be Secure although this hop is plain HTTP.
	opts.Console.SecureCookies = behindProxy
	hookMetrics := delivery.NewWebhookMetrics()
	if err := metrics.Register(hookMetrics.Collectors()...); err != nil {
		return err
	}
	dispatcher, err := delivery.NewDispatcher(delivery.WebhookOptions{Store: db, AllowHosts: delivery.NewHosts(cfg.Webhooks.AllowHosts),
		MaxChanges: cfg.Webhooks.MaxChanges, MaxBytes: cfg.Webhooks.MaxBytes, Metrics: hookMetrics, Logger: log})
	if err != nil {
		return err
	}
	opts.OnWebhookChange = dispatcher.Notify
	gin.SetMode(gin.ReleaseMode)
	srv, err := taxii.NewServer(ctx, opts, db, validator)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer srv.Close() // runs before db.Close: flushes the audit rows still queued

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for handlers to return, and a live stream's never
	// would: it ends them first. A stream over HTTP/1.1 writes to its
	// hijacked connection, which Shutdown does not wait for; srv.Close
	// (deferred above) does. (Streams lift WriteTimeout for themselves
	// and bound each write instead.)
	hs.RegisterOnShutdown(srv.EndStreams)
	if useTLS {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		hs.TLSConfig = serverTLSConfig(cert)
		if cfg.TLS.ClientCAFile != "" {
			pem, err := os.ReadFile(cfg.TLS.ClientCAFile)
			if err != nil {
				return fmt.Errorf("tls.client_ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("tls.client_ca_file: %s holds no PEM certificate", cfg.TLS.ClientCAFile)
			}
			// A certificate is optional: Basic and tokens work side by
			// side with it. One that is presented must chain to this CA.
			hs.TLSConfig.ClientCAs = pool
			hs.TLSConfig.ClientAuth = tls.VerifyClientCertIfGiven
		}
	} else if cfg.TLS.ClientCAFile != "" {
		return errors.New("tls.client_ca_file: client certificates need TLS: set tls.cert_file and tls.key_file")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if useTLS {
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	log.Info("serving TAXII 2.1", "discovery", fmt.Sprintf("%s://%s/taxii2/", scheme, ln.Addr()), "store", where)
	if e.onListen != nil {
		e.onListen(ln.Addr())
	}

	// The dispatcher runs beside the HTTP server and stops first on
	// shutdown (it waits for its deliveries in flight, each bounded by
	// their request timeout); the store closes after both.
	dctx, stopDispatch := context.WithCancel(ctx)
	dispatchDone := make(chan struct{})
	go func() {
		defer close(dispatchDone)
		if err := dispatcher.Run(dctx); err != nil {
			log.Error("webhook dispatcher stopped", "err", err)
		}
	}()
	defer func() { stopDispatch(); <-dispatchDone }()

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Drain in-flight requests, then close the store (deferred above).
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serverTLSConfig allows TLS 1.2 and 1.3 with forward-secret AEAD suites
// only (REQ-01..04); Go's TLS stack has no 0-RTT.
func serverTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

var starterTemplate = template.Must(template.New("starter").Parse(`# eitaxii starter configuration, written on first start.
# Edit it and restart, or run with --config FILE. Reference: README.md.
listen: 127.0.0.1:8080
data_dir: {{.DataDir}}
discovery:
  title: eitaxii
  description: Election-infrastructure threat intelligence sharing (starter configuration)
  default: demo
accounts:
  - name: admin
    superadmin: true
    password_hash: "{{.PasswordHash}}"
groups:
  - name: demo
    title: Demo sharing group
    description: A sharing group to try eitaxii with
    max_content_length: 10485760
    members:
      admin: publisher
    collections:
      - id: {{.CollectionID}}
        title: Indicators
        alias: indicators
        description: Indicators shared by the demo group
`))

// starter loads the starter configuration of a data directory, writing it
// (with a new random password for admin, printed once) on first start.
func starter(dataDir string, e *env) (*Config, error) {
	path := filepath.Join(dataDir, starterConfig)
	if _, err := os.Stat(path); err == nil {
		return loadConfig(path)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	password := randomPassword()
	hash, err := hashPassword(password)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	err = starterTemplate.Execute(f, map[string]string{"DataDir": dataDir, "PasswordHash": hash, "CollectionID": uuid.NewString()})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	fmt.Fprintf(e.stdout, "First start: wrote %s\n", path)
	fmt.Fprintf(e.stdout, "Account admin (superadmin; publisher of group demo), password: %s\n", password)
	fmt.Fprintln(e.stdout, "This password is shown once and stored only as a hash.")
	return loadConfig(path)
}
