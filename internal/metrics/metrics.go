// Package metrics holds Newsflash's Prometheus metrics: one Metrics per
// instance, with its own registry, served at GET /metrics. Packages get the
// Metrics they report to through their Config; on hot paths they keep the
// labelled child (WithLabelValues) rather than looking it up per event.
// docs/metrics.md describes every metric.
//
// All metrics are safe for concurrent use.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const ns = "newsflash"

// Metrics of one instance.
type Metrics struct {
	reg *prometheus.Registry

	// Readers (WebSocket and SSE); label transport is ws or sse.
	Connects    *prometheus.CounterVec // transport
	Disconnects *prometheus.CounterVec // transport, reason
	Delivered   *prometheus.CounterVec // transport
	Refused     *prometheus.CounterVec // reason: limits that turned a client away
	DeliveryLag prometheus.Histogram

	// Editors.
	PublishLatency    prometheus.Histogram
	IdempotentReplays prometheus.Counter

	// Scheduled items (internal/schedule): published and missed by this
	// instance. The pending gauge is registered by the server (Gauge).
	ScheduledPublished prometheus.Counter
	ScheduledMissed    prometheus.Counter

	// Web Push.
	PushSends   *prometheus.CounterVec // outcome, host
	PushRetries prometheus.Counter
	PushRemoved prometheus.Counter
	// PushJobsFailed counts delivery jobs ended without their final
	// progress record (its sends are made; the job is not tried again).
	PushJobsFailed prometheus.Counter
	// PushSkipped counts alerts held back from subscriptions by their
	// prefs (never sent later), by platform and reason.
	PushSkipped *prometheus.CounterVec // platform, reason
	// Receipts of alerts (counted by the instance that took each, once
	// over all instances) and the alerts' times, by platform.
	PushReceipts    *prometheus.CounterVec   // platform, event
	PushTimeToSent  *prometheus.HistogramVec // platform
	PushTimeToShown *prometheus.HistogramVec // platform
}

// Disconnect reasons.
const (
	ReasonClosed   = "closed"   // the reader went, or the connection failed
	ReasonSlow     = "slow"     // closed as a slow consumer
	ReasonShutdown = "shutdown" // sent away by a server shutdown
)

// New returns the metrics of an instance on a registry of their own, with
// the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		Connects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "reader_connects_total",
			Help: "Readers accepted, by transport."}, []string{"transport"}),
		Disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "reader_disconnects_total",
			Help: "Readers gone, by transport and reason (closed, slow, shutdown)."}, []string{"transport", "reason"}),
		Delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_delivered_total",
			Help: "Frames written to readers (events, history and welcomes), by transport."}, []string{"transport"}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "refused_total",
			Help: "Requests turned away by a limit, by reason (the error code answered)."}, []string{"reason"}),
		DeliveryLag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "delivery_lag_seconds",
			Help:    "From an event's publication to its write to a reader's socket, once per write to a reader.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		PublishLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "publish_latency_seconds",
			Help:    "From an editor's write to JetStream's acknowledgement (stored, fsynced).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
		IdempotentReplays: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "idempotent_replays_total",
			Help: "Posts answered from an earlier post with the same Idempotency-Key."}),
		ScheduledPublished: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "scheduled_published_total",
			Help: "Scheduled items this instance published at their publish_at."}),
		ScheduledMissed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "scheduled_missed_total",
			Help: "Scheduled items this instance marked missed (due longer ago than --schedule-max-late), not published."}),
		PushSends: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "push_sends_total",
			Help: "Web Push requests, by outcome and push-service host."}, []string{"outcome", "host"}),
		PushRetries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "push_retries_total",
			Help: "Web Push sends scheduled again after a failure, 429 or 5xx."}),
		PushRemoved: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "push_subscriptions_removed_total",
			Help: "Push subscriptions removed: gone at the push service (404/410), refused too often, or unreachable too long."}),
		PushJobsFailed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "push_jobs_failed_total",
			Help: "Web Push delivery jobs ended because their final progress could not be saved (see the error log)."}),
		PushSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "push_skipped_total",
			Help: "Alerts held back from subscriptions and devices by their preferences (never sent later), by platform and reason (priority, quiet_hours, cap)."}, []string{"platform", "reason"}),
		PushReceipts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "push_receipts_total",
			Help: "Receipts of alerts counted (each receipt and event once), by platform and event (shown, clicked)."}, []string{"platform", "event"}),
		PushTimeToSent: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "push_time_to_sent_seconds",
			Help:    "Time from an alert to each of its successful sends, by platform.",
			Buckets: prometheus.ExponentialBucketsRange(0.05, 3600, 16)}, []string{"platform"}),
		PushTimeToShown: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "push_time_to_shown_seconds",
			Help:    "Time from an alert to each of its shown receipts, by platform.",
			Buckets: prometheus.ExponentialBucketsRange(0.05, 3600, 16)}, []string{"platform"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Connects, m.Disconnects, m.Delivered, m.Refused, m.DeliveryLag,
		m.PublishLatency, m.IdempotentReplays, m.ScheduledPublished, m.ScheduledMissed,
		m.PushSends, m.PushRetries, m.PushRemoved, m.PushJobsFailed, m.PushSkipped,
		m.PushReceipts, m.PushTimeToSent, m.PushTimeToShown,
	)
	return m
}

// Gauge registers a gauge read from fn when scraped.
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help}, fn))
}

// GaugeVec registers a gauge with one label read from fn, per value, when
// scraped.
func (m *Metrics) GaugeVec(name, help, label string, values []string, fn func(value string) float64) {
	m.reg.MustRegister(&gaugeVec{desc: prometheus.NewDesc(ns+"_"+name, help, []string{label}, nil), values: values, fn: fn})
}

type gaugeVec struct {
	desc   *prometheus.Desc
	values []string
	fn     func(string) float64
}

func (g *gaugeVec) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *gaugeVec) Collect(ch chan<- prometheus.Metric) {
	for _, v := range g.values {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, g.fn(v), v)
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
