package server

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-editor/tandem/metrics"
)

// instrument registers the server's own metrics with m's registry: the
// session manager's counts, the sockets, and HTTP requests by method and
// status.
func (s *Server) instrument(m *metrics.Metrics) {
	s.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tandem_http_requests_total",
		Help: "HTTP requests by method and status.",
	}, []string{"method", "code"})
	m.Registry.MustRegister(sessionStats{s}, s.httpRequests)
}

// sessionStats reports the session manager's counts and the sockets,
// reading Sessions.Stats once per scrape.
type sessionStats struct{ s *Server }

var (
	descOps         = prometheus.NewDesc("tandem_ops_applied_total", "Operations applied and committed.", nil, nil)
	descCommits     = prometheus.NewDesc("tandem_commits_total", "Group commits of operations to the database.", nil, nil)
	descJoins       = prometheus.NewDesc("tandem_joins_total", "Joins accepted by the session manager.", nil, nil)
	descSlow        = prometheus.NewDesc("tandem_slow_peers_total", "Peers closed because their send queue overflowed.", nil, nil)
	descStoreErrors = prometheus.NewDesc("tandem_store_errors_total", "Database failures seen by document hubs.", nil, nil)
	descDocs        = prometheus.NewDesc("tandem_open_documents", "Documents with a running hub.", nil, nil)
	descPeers       = prometheus.NewDesc("tandem_connected_peers", "Joined peers across all documents.", nil, nil)
	descSockets     = prometheus.NewDesc("tandem_open_sockets", "Open WebSockets, joined or not.", nil, nil)
)

func (sessionStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOps, descCommits, descJoins, descSlow, descStoreErrors, descDocs, descPeers, descSockets} {
		ch <- d
	}
}

func (c sessionStats) Collect(ch chan<- prometheus.Metric) {
	st, docs, peers := c.s.sessions.Stats()
	c.s.mu.Lock()
	sockets := len(c.s.peers)
	c.s.mu.Unlock()
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter(descOps, st.OpsApplied)
	counter(descCommits, st.Commits)
	counter(descJoins, st.Joins)
	counter(descSlow, st.SlowPeers)
	counter(descStoreErrors, st.StoreErrors)
	gauge(descDocs, docs)
	gauge(descPeers, peers)
	gauge(descSockets, sockets)
}

// countRequest counts an answered HTTP request.
func (s *Server) countRequest(method string, status int) {
	switch method { // bound the label values
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "OTHER"
	}
	s.httpRequests.WithLabelValues(method, strconv.Itoa(status)).Inc()
}

// GET /metrics -> Prometheus text exposition format
func (s *Server) metrics(c echo.Context) error {
	s.metricsHandler.ServeHTTP(c.Response(), c.Request())
	return nil
}

// MetricsHandler serves /metrics alone, for a separate listen address
// (Config.MetricsSeparate); it asks for no token.
func (s *Server) MetricsHandler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.GET("/metrics", s.metrics)
	return e
}
