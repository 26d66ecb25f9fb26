package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/olahol/melody"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-editor/tandem/metrics"
	"github.com/tandem-editor/tandem/wire"
)

// Config holds a Server's settings. Zero values take the defaults.
type Config struct {
	// MaxMessage is the longest client message in bytes (default 1 MiB).
	MaxMessage int64
	// RateLimit is the messages per second allowed per socket (default 500;
	// negative: no limit). RateBurst is the burst (default 1000).
	RateLimit float64
	RateBurst int
	// SendBudget is how many bytes may wait for one socket's writer before
	// the peer is closed with 4001, too slow (default 16 MiB).
	SendBudget int
	// AllowedOrigins lists Origins accepted besides the request's own host,
	// as full origins ("https://example.com") or bare hosts ("example.com").
	AllowedOrigins []string
	// PingPeriod is how often a socket is pinged (default 10 s); a socket
	// that sends no pong for PongWait is dropped (default 25 s).
	PingPeriod, PongWait time.Duration
	// WriteWait bounds each write to a socket (default 10 s).
	WriteWait time.Duration
	// MaxBody limits an HTTP request body in bytes (default 1 MiB).
	MaxBody int64
	// ReadTimeout bounds how long an HTTP request's body may take to
	// arrive (default 30 s); WriteTimeout, how long its answer may take to
	// be written (default 60 s). Neither applies to WebSockets.
	ReadTimeout, WriteTimeout time.Duration
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// App serves the browser app for every path outside the API; nil
	// serves none.
	App http.Handler

	// AdminToken, if set, is the administrator's bearer token: it lists
	// every document, reads /metrics, and opens any document by its id.
	AdminToken string
	// PublicURL is the address people open, e.g. https://edit.example.com:
	// its host is served besides loopback names and its origin is allowed.
	PublicURL string
	// AllowedHosts lists more Host names to serve.
	AllowedHosts []string
	// CreateClosed: creating a document needs the admin token, or a user
	// named in UserHeader by a trusted proxy. Otherwise anyone may.
	CreateClosed bool
	// UserHeader is the header a trusted proxy names its signed-in user in
	// (default X-Forwarded-User).
	UserHeader string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For,
	// X-Forwarded-Proto and UserHeader are believed.
	TrustedProxies []netip.Prefix
	// MetricsSeparate: /metrics is not on Handler but on MetricsHandler,
	// for a separate listen address, without the admin token.
	MetricsSeparate bool
	// Limits per client address (zero: the default; negative: none):
	// open WebSockets (default 64), documents created per minute (default
	// 60), HTTP requests per second (default 20, burst HTTPBurst, default
	// 200).
	MaxSocketsPerAddr int
	CreatePerMinute   int
	HTTPRate          float64
	HTTPBurst         int
	// JoinTimeout closes a socket that has not joined in time (default
	// 10 s).
	JoinTimeout time.Duration
	// Legacy accepts the original protocol sketch, which the shared
	// comparison harness speaks: a document's id opens it for editing
	// without a token, and a join may name its client id, which is taken as
	// given (no secret). Anyone who learns an id can then edit that
	// document or act as that client: for benchmarks on loopback only
	// (main refuses it on any other address).
	Legacy bool
	// MaxDocLen is the longest document in UTF-16 units, as the sessions
	// enforce it (default 10 Mi): the HTTP API checks texts against it.
	MaxDocLen int
	// TrashFor is how long a deleted document stays in the trash (default
	// 30 days).
	TrashFor time.Duration
	// IdentityKey derives clients' public ids from their secrets; it must
	// outlive restarts (main keeps it in the store). Nil: a random key for
	// this process.
	IdentityKey []byte
}

// Defaults.
const (
	DefaultMaxMessage   = 1 << 20
	DefaultRateLimit    = 500
	DefaultRateBurst    = 1000
	DefaultSendBudget   = 16 << 20
	DefaultPingPeriod   = 10 * time.Second
	DefaultPongWait     = 25 * time.Second
	DefaultWriteWait    = 10 * time.Second
	DefaultMaxBody      = 1 << 20
	DefaultReadTimeout  = 30 * time.Second
	DefaultWriteTimeout = 60 * time.Second

	DefaultMaxSocketsPerAddr = 64
	DefaultCreatePerMinute   = 60
	DefaultHTTPRate          = 20
	DefaultHTTPBurst         = 200
	DefaultJoinTimeout       = 10 * time.Second
	DefaultUserHeader        = "X-Forwarded-User"
	DefaultMaxDocLen         = 10 << 20
	DefaultTrashFor          = 30 * 24 * time.Hour
)

func (c *Config) setDefaults() {
	if c.MaxMessage <= 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.RateBurst <= 0 {
		c.RateBurst = DefaultRateBurst
	}
	if c.SendBudget <= 0 {
		c.SendBudget = DefaultSendBudget
	}
	if c.PingPeriod <= 0 {
		c.PingPeriod = DefaultPingPeriod
	}
	if c.PongWait <= 0 {
		c.PongWait = DefaultPongWait
	}
	if c.PingPeriod >= c.PongWait {
		// A ping must go out before the pong deadline passes.
		c.PingPeriod = c.PongWait * 2 / 5
	}
	if c.WriteWait <= 0 {
		c.WriteWait = DefaultWriteWait
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.MaxSocketsPerAddr = orDefault(c.MaxSocketsPerAddr, DefaultMaxSocketsPerAddr)
	c.CreatePerMinute = orDefault(c.CreatePerMinute, DefaultCreatePerMinute)
	c.HTTPRate = orDefault(c.HTTPRate, DefaultHTTPRate)
	c.HTTPBurst = orDefault(c.HTTPBurst, DefaultHTTPBurst)
	c.JoinTimeout = orDefault(c.JoinTimeout, DefaultJoinTimeout)
	if c.UserHeader == "" {
		c.UserHeader = DefaultUserHeader
	}
	if c.TrashFor <= 0 {
		c.TrashFor = DefaultTrashFor
	}
	if len(c.IdentityKey) == 0 {
		c.IdentityKey = make([]byte, 32)
		rand.Read(c.IdentityKey)
	}
}

// orDefault: zero takes the default, negative means none (kept negative).
func orDefault[T int | float64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Server is Tandem's HTTP and WebSocket front: the JSON API, the WebSocket
// adapter between melody and the session hubs, /healthz, /metrics and the
// browser app. Its methods are safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	docs     Docs
	health   Health
	sessions Sessions
	ws       *melody.Melody
	echo     *echo.Echo
	// metricsHandler serves the registry; httpRequests counts requests.
	metricsReg     *metrics.Metrics
	metricsHandler http.Handler
	httpRequests   *prometheus.CounterVec
	public         *url.URL // Config.PublicURL, parsed; nil if none
	limits         *addrLimits

	gen         atomic.Uint64  // see changed
	streams     sync.WaitGroup // event streams still running
	stopStreams chan struct{}  // closed by Close: event streams end

	authorsMu   sync.Mutex
	authorsSeen map[string]string // doc and author id -> name and colour saved

	mu      sync.Mutex
	closing bool
	peers   map[*peer]struct{} // every open socket, joined or not
	sockets sync.WaitGroup     // WebSocket handlers still running

	closeOnce sync.Once
	closeErr  error
	stopOnce  sync.Once
}

// New returns a Server over its collaborators, which the caller has
// opened (main wires them). Close shuts the sessions down; the caller
// closes the store after it.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := deps.check(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	var public *url.URL
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("server: public URL %q: want http(s)://host[:port]", cfg.PublicURL)
		}
		public = u
	}
	s := &Server{
		public:      public,
		limits:      newAddrLimits(&cfg),
		authorsSeen: make(map[string]string),
		stopStreams: make(chan struct{}),
		cfg:         cfg,
		log:         cfg.Logger,
		docs:        deps.Docs,
		health:      deps.Health,
		sessions:    deps.Sessions,
		peers:       make(map[*peer]struct{}),
	}
	s.metricsReg = deps.Metrics
	if s.metricsReg == nil {
		s.metricsReg = metrics.New()
	}
	s.instrument(s.metricsReg)
	s.metricsHandler = s.metricsReg.Handler()
	s.ws = s.newMelody()
	s.echo = s.routes()
	return s, nil
}

// Handler returns the HTTP handler: the API, the WebSocket endpoint,
// /healthz, /metrics and the browser app.
func (s *Server) Handler() http.Handler { return s.echo }

// StopStreams ends the event streams (GET /api/events): they are HTTP
// requests that never finish by themselves, so a graceful HTTP shutdown,
// which waits for requests, must end them first (main registers it with
// http.Server.RegisterOnShutdown). Close calls it too.
func (s *Server) StopStreams() {
	s.stopOnce.Do(func() { close(s.stopStreams) })
}

// Close shuts the server down, in this order:
//  1. refuse new WebSocket upgrades;
//  2. Sessions.Shutdown: every hub commits what it holds, saves a snapshot
//     and closes its peers with 1001 (going away), after the messages
//     already queued for them;
//  3. close the sockets that never joined, with 1001;
//  4. wait for every socket to end (its queue written, then the close
//     frame), or for ctx to expire.
//
// The HTTP listener must have stopped accepting first (http.Server.Shutdown,
// which does not close WebSockets); the store is closed after Close
// returns, by whoever opened it. Later calls return the first result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Server) close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.StopStreams()
	s.streams.Wait() // each ends at its next poll

	var errs []error
	if err := s.sessions.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}

	s.mu.Lock()
	for p := range s.peers {
		p.Close(wire.CloseGoingAway, "server shutting down")
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { // ends when every WebSocket handler has returned
		s.sockets.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("server: waiting for sockets to close: %w", ctx.Err()))
	}
	// Stops melody's own registry goroutine; sockets still open after a
	// timeout get a close frame from it.
	if err := s.ws.Close(); err != nil && !errors.Is(err, melody.ErrClosed) {
		errs = append(errs, fmt.Errorf("server: close websockets: %w", err))
	}
	return errors.Join(errs...)
}
