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
	stats := func(pick func(st statsView) float64) func() float64 {
		return func() float64 {
			st, docs, peers := s.sessions.Stats()
			return pick(statsView{st.OpsApplied, st.Commits, st.Joins, st.SlowPeers, st.StoreErrors, docs, peers})
		}
	}
	counter := func(name, help string, pick func(st statsView) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, stats(pick))
	}
	gauge := func(name, help string, pick func(st statsView) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, stats(pick))
	}
	s.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tandem_http_requests_total",
		Help: "HTTP requests by method and status.",
	}, []string{"method", "code"})
	m.Registry.MustRegister(
		counter("tandem_ops_applied_total", "Operations applied and committed.", func(v statsView) float64 { return float64(v.ops) }),
		counter("tandem_commits_total", "Group commits of operations to the database.", func(v statsView) float64 { return float64(v.commits) }),
		counter("tandem_joins_total", "Joins accepted by the session manager.", func(v statsView) float64 { return float64(v.joins) }),
		counter("tandem_slow_peers_total", "Peers closed because their send queue overflowed.", func(v statsView) float64 { return float64(v.slow) }),
		counter("tandem_store_errors_total", "Database failures seen by document hubs.", func(v statsView) float64 { return float64(v.storeErrors) }),
		gauge("tandem_open_documents", "Documents with a running hub.", func(v statsView) float64 { return float64(v.docs) }),
		gauge("tandem_connected_peers", "Joined peers across all documents.", func(v statsView) float64 { return float64(v.peers) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tandem_open_sockets", Help: "Open WebSockets, joined or not."}, func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return float64(len(s.peers))
		}),
		s.httpRequests,
	)
}

type statsView struct {
	ops, commits, joins, slow, storeErrors int64
	docs, peers                            int
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
