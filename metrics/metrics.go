// Package metrics is Tandem's Prometheus instrumentation: the histograms
// and counters of what the document hubs and the sockets do, the Go
// runtime's and the process's own metrics, and the registry /metrics
// serves. It implements session.Observer; package server adds its own
// gauges and counters to the same registry. main wires it.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the registry and the collectors the hot paths update.
// Its methods are safe for concurrent use and cost an atomic add or two.
type Metrics struct {
	// Registry is what /metrics serves; callers may register more.
	Registry *prometheus.Registry

	ackLatency     prometheus.Histogram
	commitLatency  prometheus.Histogram
	batchOps       prometheus.Histogram
	fanoutMessages prometheus.Counter
	fanoutBytes    prometheus.Counter
	peerQueue      prometheus.Histogram
}

// New returns Metrics registered, with the Go runtime and process
// collectors, in a fresh registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tandem_op_answer_seconds",
			Help:    "From an op's arrival at its document to its acknowledgement (or refusal) handed to the socket; includes the commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 0.1 ms to 3.3 s
		}),
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tandem_commit_seconds",
			Help:    "Time a document's batch of ops took to be persisted.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16), // 50 µs to 1.6 s
		}),
		batchOps: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tandem_commit_ops",
			Help:    "Ops in each commit of a document's batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 9), // 1 to 256
		}),
		fanoutMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tandem_fanout_messages_total",
			Help: "Messages handed by document hubs to sockets (acks, ops, presence, catch-up).",
		}),
		fanoutBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tandem_fanout_bytes_total",
			Help: "Bytes of the messages handed by document hubs to sockets.",
		}),
		peerQueue: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tandem_peer_queue_messages",
			Help:    "Messages waiting for a socket's writer (queued and in its writer), seen each time messages are handed to it.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 to 1024
		}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.ackLatency, m.commitLatency, m.batchOps, m.fanoutMessages, m.fanoutBytes, m.peerQueue,
	)
	return m
}

// Committed records one commit of ops that took d.
func (m *Metrics) Committed(ops int, d time.Duration) {
	m.commitLatency.Observe(d.Seconds())
	m.batchOps.Observe(float64(ops))
}

// Answered records an op answered d after it arrived.
func (m *Metrics) Answered(d time.Duration) { m.ackLatency.Observe(d.Seconds()) }

// Fanout records messages handed to sockets.
func (m *Metrics) Fanout(messages, bytes int) {
	m.fanoutMessages.Add(float64(messages))
	m.fanoutBytes.Add(float64(bytes))
}

// PeerQueued records how many messages wait for one socket's writer.
func (m *Metrics) PeerQueued(n int) { m.peerQueue.Observe(float64(n)) }

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
