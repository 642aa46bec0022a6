package delivery

import "github.com/prometheus/client_golang/prometheus"

// WebhookMetrics are the dispatcher's Prometheus metrics. A nil
// *WebhookMetrics counts nothing.
type WebhookMetrics struct {
	deliveries *prometheus.CounterVec
	changes    prometheus.Counter
	retrying   prometheus.Gauge
	disables   prometheus.Counter
}

// NewWebhookMetrics makes the metrics; register them with Collectors.
func NewWebhookMetrics() *WebhookMetrics {
	return &WebhookMetrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eitaxii_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: ok (2xx), failed (other status or transport error), refused (SSRF guard), gone (410).",
		}, []string{"outcome"}),
		changes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eitaxii_webhook_changes_delivered_total", Help: "Changes (object versions and deletions) acknowledged by webhook targets.",
		}),
		retrying: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eitaxii_webhook_retry_queue", Help: "Enabled webhook subscriptions whose current message has failed and waits for a retry.",
		}),
		disables: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eitaxii_webhook_disabled_total", Help: "Webhook subscriptions disabled by the dispatcher (410, sustained failure, lost access).",
		}),
	}
}

// Collectors returns the metrics to register.
func (m *WebhookMetrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.deliveries, m.changes, m.retrying, m.disables}
}

func (m *WebhookMetrics) delivered(outcome string, changes int) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(outcome).Inc()
	m.changes.Add(float64(changes))
}

func (m *WebhookMetrics) setRetrying(n int) {
	if m != nil {
		m.retrying.Set(float64(n))
	}
}

func (m *WebhookMetrics) disabled() {
	if m != nil {
		m.disables.Inc()
	}
}
