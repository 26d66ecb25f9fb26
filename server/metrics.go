package server

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// httpStats counts HTTP requests by method and status.
type httpStats struct {
	mu     sync.Mutex
	counts map[httpKey]int64
}

type httpKey struct {
	method string
	status int
}

func (h *httpStats) count(method string, status int) {
	switch method { // bound the label values
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "OTHER"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts == nil {
		h.counts = make(map[httpKey]int64)
	}
	h.counts[httpKey{method, status}]++
}

func (h *httpStats) snapshot() map[httpKey]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[httpKey]int64, len(h.counts))
	for k, v := range h.counts {
		out[k] = v
	}
	return out
}

// GET /metrics -> Prometheus text exposition format (version 0.0.4)
func (s *Server) metrics(c echo.Context) error {
	st, openDocs, peers := s.sessions.Stats()
	var b strings.Builder
	metric := func(name, kind, help string, v int64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, kind, name, v)
	}
	metric("tandem_ops_applied_total", "counter", "Operations applied and committed.", st.OpsApplied)
	metric("tandem_commits_total", "counter", "Group commits of operations to the database.", st.Commits)
	metric("tandem_joins_total", "counter", "Joins accepted by the session manager.", st.Joins)
	metric("tandem_slow_peers_total", "counter", "Peers closed because their send queue overflowed.", st.SlowPeers)
	metric("tandem_store_errors_total", "counter", "Database failures seen by document hubs.", st.StoreErrors)
	metric("tandem_open_documents", "gauge", "Documents with a running hub.", int64(openDocs))
	metric("tandem_connected_peers", "gauge", "Joined peers across all documents.", int64(peers))
	s.mu.Lock()
	sockets := len(s.peers)
	s.mu.Unlock()
	metric("tandem_open_sockets", "gauge", "Open WebSockets, joined or not.", int64(sockets))

	counts := s.http.snapshot()
	keys := make([]httpKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].method != keys[j].method {
			return keys[i].method < keys[j].method
		}
		return keys[i].status < keys[j].status
	})
	b.WriteString("# HELP tandem_http_requests_total HTTP requests by method and status.\n# TYPE tandem_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "tandem_http_requests_total{method=%q,code=\"%d\"} %d\n", k.method, k.status, counts[k])
	}
	return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", []byte(b.String()))
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
