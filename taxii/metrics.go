package taxii

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics, on a registry of their own.
// Make them with NewMetrics before opening the store, so that the store's
// commit hook (bolt.Options.OnCommit = m.ObserveCommit) can feed them.
type Metrics struct {
	reg                *prometheus.Registry
	requests           *prometheus.CounterVec
	latency            *prometheus.HistogramVec
	published, served  *prometheus.CounterVec
	validationFailures *prometheus.CounterVec
	authFailures       prometheus.Counter
	passwordChecks     prometheus.Counter
	rateLimited        prometheus.Counter
	readsRefused       prometheus.Counter
	commitSeconds      prometheus.Histogram
	commitWrites       prometheus.Histogram
	lastPoll           *prometheus.GaugeVec
	streamsOpen        prometheus.Gauge
	streamEvents       *prometheus.CounterVec
	// The streamEvents series, resolved once: one is counted per event
	// per client.
	eventsObject, eventsDelete, eventsHeartbeat, eventsGap prometheus.Counter
	streamLag                                              prometheus.Histogram
	streamsDropped                                         prometheus.Counter
	streamsRefused                                         prometheus.Counter

	mu      sync.Mutex
	tracked map[string]bool // accounts with a lastPoll series
}

// NewMetrics makes and registers the metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eitaxii_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "eitaxii_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eitaxii_objects_published_total", Help: "Objects accepted by Add Objects, by collection (duplicates included).",
		}, []string{"collection"}),
		served: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eitaxii_objects_served_total", Help: "Objects and manifest records served, by collection.",
		}, []string{"collection"}),
		validationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eitaxii_validation_failures_total", Help: "Findings on refused objects, by rule.",
		}, []string{"rule"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eitaxii_auth_failures_total", Help: "Requests refused for missing or wrong credentials.",
		}),
		passwordChecks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eitaxii_password_checks_total", Help: "bcrypt verifications of passwords (a cached Basic credential needs none; unknown accounts cost one too).",
		}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eitaxii_rate_limited_total", Help: "Requests refused by an account's rate limit.",
		}),
		readsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eitaxii_concurrent_reads_refused_total", Help: "Page reads refused because the account had max_concurrent_reads in progress.",
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "eitaxii_store_commit_seconds", Help: "Duration of group commits of Add Objects writes.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		commitWrites: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "eitaxii_store_commit_writes", Help: "Add Objects requests per group commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		lastPoll: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "eitaxii_account_last_read_timestamp_seconds",
			Help: "When each account last read objects, a manifest or versions (Unix time; 0: never): a feed that stopped polling shows here.",
		}, []string{"account"}),
		streamsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eitaxii_streams_open", Help: "Live streams (SSE) open now.",
		}),
		streamEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eitaxii_stream_events_sent_total", Help: "Events written to live streams, by event (object, delete, heartbeat, gap).",
		}, []string{"event"}),
		streamLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eitaxii_stream_lag_seconds",
			Help:    "How far behind the collection's newest change each stream event was when written (cursor time), in seconds: replays and slow clients lag.",
			Buckets: []float64{0, .001, .005, .025, .1, .5, 2.5, 10, 60, 600, 3600, 86400},
		}),
		streamsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eitaxii_streams_dropped_slow_total", Help: "Streams ended because their client fell further behind than the subscriber queue.",
		}),
		streamsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eitaxii_streams_refused_total", Help: "Streams refused because the account had max_streams_per_account open.",
		}),
	}
	m.eventsObject = m.streamEvents.WithLabelValues("object")
	m.eventsDelete = m.streamEvents.WithLabelValues("delete")
	m.eventsHeartbeat = m.streamEvents.WithLabelValues("heartbeat")
	m.eventsGap = m.streamEvents.WithLabelValues("gap")
	m.reg.MustRegister(m.streamsOpen, m.streamEvents, m.streamLag, m.streamsDropped, m.streamsRefused,
		m.requests, m.latency, m.published, m.served, m.validationFailures,
		m.authFailures, m.passwordChecks, m.rateLimited, m.readsRefused, m.commitSeconds, m.commitWrites, m.lastPoll,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// trackAccounts keeps one last-read series per account: new accounts start
// at their stored LastRead (0 if they never read, so they show as silent
// from the start), deleted ones are dropped. Series already tracked are left
// alone: the live value is newer than the store's, which lags.
func (m *Metrics) trackAccounts(accounts []store.Account) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tracked == nil {
		m.tracked = map[string]bool{}
	}
	current := make(map[string]bool, len(accounts))
	for _, a := range accounts {
		current[a.Name] = true
		if !m.tracked[a.Name] {
			m.tracked[a.Name] = true
			last := 0.0
			if !a.LastRead.IsZero() {
				last = float64(a.LastRead.Unix())
			}
			m.lastPoll.WithLabelValues(a.Name).Set(last)
		}
	}
	for name := range m.tracked {
		if !current[name] {
			delete(m.tracked, name)
			m.lastPoll.DeleteLabelValues(name)
		}
	}
}

// ObserveCommit records one group commit; it fits bolt.Options.OnCommit.
func (m *Metrics) ObserveCommit(d time.Duration, writes int) {
	m.commitSeconds.Observe(d.Seconds())
	m.commitWrites.Observe(float64(writes))
}

// Register adds collectors of other subsystems (the webhook dispatcher's)
// to the server's registry, served on /metrics with the rest.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// registerStore adds the store's size; a second server on the same
// metrics keeps the first registration.
func (m *Metrics) registerStore(st store.Store) {
	err := m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "eitaxii_store_size_bytes", Help: "Size of the store file.",
	}, func() float64 {
		n, _ := st.Size(context.Background())
		return float64(n)
	}))
	var are prometheus.AlreadyRegisteredError
	if err != nil && !errors.As(err, &are) {
		panic(err) // our own metric definitions: a bug
	}
}

// observeRequest counts a finished request; route is the normalised gin
// route, so labels stay few.
func (m *Metrics) observeRequest(route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// handleHealthz serves GET /healthz: the process is alive. No credentials.
func (s *Server) handleHealthz(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", []byte(`{"status":"ok"}`))
}

// handleReadyz serves GET /readyz: the store is open and writable. No
// credentials; it says nothing but ready or not.
func (s *Server) handleReadyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		c.Data(http.StatusServiceUnavailable, "application/json", []byte(`{"status":"unavailable"}`))
		return
	}
	c.Data(http.StatusOK, "application/json", []byte(`{"status":"ready"}`))
}

// handleMetrics serves GET /metrics in the Prometheus format to the
// addresses of Options.MetricsAllow, and to superadmins from anywhere.
func (s *Server) handleMetrics() gin.HandlerFunc {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	return func(c *gin.Context) {
		if !s.metricsAllowed(c.Request.RemoteAddr) {
			p, err := s.login(c)
			if err != nil {
				s.writeError(c, err)
				return
			}
			if !p.Superadmin {
				s.writeError(c, errorf(http.StatusForbidden, "Forbidden", "metrics are for superadmins and the configured monitoring addresses"))
				return
			}
		}
		h.ServeHTTP(c.Writer, c.Request)
	}
}

// metricsAllowed reports whether the connection's own address (never a
// forwarded header) is in Options.MetricsAllow.
func (s *Server) metricsAllowed(remoteAddr string) bool {
	if len(s.opts.MetricsAllow) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		host, _, _ := strings.Cut(remoteAddr, ":")
		a, err := netip.ParseAddr(host)
		if err != nil {
			return false
		}
		ap = netip.AddrPortFrom(a, 0)
	}
	addr := ap.Addr().Unmap()
	for _, p := range s.opts.MetricsAllow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
