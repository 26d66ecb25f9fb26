// Command tandem serves Tandem, a collaborative plain-text editor: the
// browser app, the JSON API and the WebSocket protocol, with documents kept
// in a SQLite database. Run it with -h for the options; docs/protocol.md
// describes the protocol.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tandem-editor/tandem/cluster"
	"github.com/tandem-editor/tandem/frontend"
	"github.com/tandem-editor/tandem/metrics"
	"github.com/tandem-editor/tandem/server"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
	"github.com/tandem-editor/tandem/store/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if len(os.Args) > 1 && os.Args[1] == "backup" {
		if err := runBackup(ctx, os.Args[2:], os.Getenv, os.Stderr); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				os.Exit(0)
			}
			fmt.Fprintln(os.Stderr, "tandem backup:", err)
			os.Exit(1)
		}
		return
	}
	m := NewMain()
	if err := m.ParseFlags(os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tandem:", err)
		os.Exit(2)
	}
	if m.ShowVersion {
		fmt.Println("tandem", version())
		return
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		os.Exit(1)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-m.Err():
	}
	stop() // a second signal stops the process at once
	if err := m.Close(); err != nil {
		m.logger.Error("shutdown", "err", err)
		os.Exit(1)
	}
	if runErr != nil {
		m.logger.Error("http server", "err", runErr)
		os.Exit(1)
	}
}

// Main is the program: its settings, then what it runs. Tests build one,
// set Addr to 127.0.0.1:0, Run it and Close it.
//
// It is the one wiring point: Run takes the data folder's lock, opens the
// store, builds the session manager over it and the server over both (as
// the interfaces server.Docs, server.Health and server.Sessions); Close
// takes them down in the reverse order.
type Main struct {
	// Addr is the listen address (default "127.0.0.1:8080": this machine
	// only, until an address is given).
	Addr string
	// MetricsAddr, if set, serves /metrics there, without the admin token,
	// instead of on Addr.
	MetricsAddr string
	// TLSCert and TLSKey, if set, serve HTTPS (and WSS) directly.
	TLSCert, TLSKey string
	// ShowVersion prints the version and exits.
	ShowVersion bool
	// DataDir holds the lock file and the database, DataDir/tandem.db
	// (default "data"; created on first run).
	DataDir string
	// Config configures the server.
	Config server.Config
	// Session configures the session manager (Logger is set by Run).
	Session session.Config
	// LogLevel: debug, info, warn or error (default info).
	LogLevel string
	// ShutdownTimeout bounds Close (default 15 s).
	ShutdownTimeout time.Duration
	// NoApp serves the API without the browser app.
	NoApp bool
	// Durability is what an acknowledged edit survives: "power" (the
	// default) or "process" (see store.Durability).
	Durability string
	// PprofAddr, if set, serves net/http/pprof there (loopback only).
	PprofAddr string
	// Store, if set, is a PostgreSQL URL (postgres://…) to keep the
	// documents in instead of SQLite in DataDir; several processes may
	// share it (docs/scaling.md).
	Store string
	// NATS, if set, is the NATS server (nats://…) through which processes
	// on the same Store relay their sockets to each document's owner.
	// It requires Store.
	NATS string
	// Lease is the length of a document's lease with Store (default 10 s).
	Lease time.Duration

	logger *slog.Logger
	lock   *store.Lock
	db     database
	nc     *nats.Conn
	node   *cluster.Node
	server *server.Server
	ln     net.Listener
	http   *http.Server
	mln    net.Listener // metrics
	mhttp  *http.Server
	pln    net.Listener // pprof
	phttp  *http.Server
	errc   chan error

	purgeStop, purgeDone chan struct{}
}

// database is what main needs of a store: SQLite's *store.DB or
// PostgreSQL's *postgres.DB, which share the contract.
type database interface {
	server.Docs
	server.Health
	session.Store
	Secret(ctx context.Context, name string, size int) ([]byte, error)
	PurgeExpired(ctx context.Context, now time.Time) (int, error)
	Close() error
}

// Defaults of the session manager, spelled out so that -h shows them.
const (
	defaultSnapshotEvery = 1000
	defaultMaxDocLen     = 10 << 20
	defaultBatchWait     = time.Millisecond
)

// NewMain returns a Main with the defaults.
func NewMain() *Main {
	return &Main{
		Addr:    "127.0.0.1:8080",
		DataDir: "data",
		Config: server.Config{
			MaxMessage:   server.DefaultMaxMessage,
			RateLimit:    server.DefaultRateLimit,
			RateBurst:    server.DefaultRateBurst,
			SendBudget:   server.DefaultSendBudget,
			PingPeriod:   server.DefaultPingPeriod,
			PongWait:     server.DefaultPongWait,
			WriteWait:    server.DefaultWriteWait,
			MaxBody:      server.DefaultMaxBody,
			ReadTimeout:  server.DefaultReadTimeout,
			WriteTimeout: server.DefaultWriteTimeout,

			MaxSocketsPerAddr: server.DefaultMaxSocketsPerAddr,
			CreatePerMinute:   server.DefaultCreatePerMinute,
			HTTPRate:          server.DefaultHTTPRate,
			HTTPBurst:         server.DefaultHTTPBurst,
			JoinTimeout:       server.DefaultJoinTimeout,
			UserHeader:        server.DefaultUserHeader,
			TrashFor:          server.DefaultTrashFor,
		},
		Session: session.Config{
			SnapshotEvery: defaultSnapshotEvery,
			MaxDocLen:     defaultMaxDocLen,
			BatchWait:     defaultBatchWait,
		},
		LogLevel:        "info",
		Durability:      "power",
		ShutdownTimeout: 15 * time.Second,
		Lease:           10 * time.Second,
		errc:            make(chan error, 1),
	}
}

// ParseFlags reads the options from args; every option can also be set by
// an environment variable (TANDEM_ and the flag's name in capitals, dashes
// as underscores), which the command line overrides.
func (m *Main) ParseFlags(args []string, getenv func(string) string, output io.Writer) error {
	fs := flag.NewFlagSet("tandem", flag.ContinueOnError)
	fs.SetOutput(output)
	c := &m.Config
	var origins, hosts, proxies, create string
	fs.StringVar(&m.Addr, "addr", m.Addr, "listen address (0.0.0.0:8080: every interface)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "the address people open (https://edit.example.com); its host is served besides loopback names")
	fs.StringVar(&hosts, "allowed-hosts", "", "comma-separated further Host names to serve")
	fs.StringVar(&c.AdminToken, "admin-token", c.AdminToken, "administrator's bearer token: lists every document, reads /metrics (empty: no administrator)")
	fs.StringVar(&create, "create", "open", "who may create documents: open (anyone who reaches the server) or closed (the administrator, or a user named by a trusted proxy)")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For, X-Forwarded-Proto and user header are believed")
	fs.StringVar(&c.UserHeader, "user-header", c.UserHeader, "header in which a trusted proxy names the signed-in user (closed mode)")
	fs.StringVar(&m.MetricsAddr, "metrics-addr", "", "serve /metrics on this address, without the admin token, instead of on -addr")
	fs.StringVar(&m.TLSCert, "tls-cert", "", "TLS certificate file (PEM): serve HTTPS and WSS directly")
	fs.StringVar(&m.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	fs.IntVar(&c.MaxSocketsPerAddr, "max-sockets-per-ip", c.MaxSocketsPerAddr, "open WebSockets allowed per client address (negative: no limit)")
	fs.IntVar(&c.CreatePerMinute, "create-per-minute", c.CreatePerMinute, "documents one client address may create per minute (negative: no limit)")
	fs.Float64Var(&c.HTTPRate, "http-rate", c.HTTPRate, "HTTP requests per second allowed per client address (negative: no limit)")
	fs.IntVar(&c.HTTPBurst, "http-burst", c.HTTPBurst, "burst of HTTP requests allowed per client address")
	fs.DurationVar(&c.JoinTimeout, "join-timeout", c.JoinTimeout, "a WebSocket that has not joined within this is closed")
	fs.BoolVar(&m.ShowVersion, "version", false, "print the version and exit")
	fs.DurationVar(&c.TrashFor, "trash-for", c.TrashFor, "how long a deleted document stays in the trash before it is purged")
	fs.BoolVar(&c.Legacy, "legacy-protocol", false, "INSECURE, for the shared benchmark harness on loopback: document ids open documents for editing and joins may name their client id")
	fs.StringVar(&m.DataDir, "data", m.DataDir, "data directory (holds tandem.db and tandem.lock; created on first run; one process at a time)")
	fs.IntVar(&m.Session.SnapshotEvery, "snapshot-every", m.Session.SnapshotEvery, "save a document snapshot every this many operations")
	fs.DurationVar(&m.Session.BatchWait, "batch-wait", m.Session.BatchWait, "how long a busy document waits for more edits before it commits them together (0: never waits)")
	fs.IntVar(&m.Session.MaxDocLen, "max-doc", m.Session.MaxDocLen, "longest document, in UTF-16 code units")
	fs.Int64Var(&c.MaxMessage, "max-message", c.MaxMessage, "longest WebSocket message from a client, in bytes")
	fs.Float64Var(&c.RateLimit, "rate", c.RateLimit, "messages per second allowed per socket (negative: no limit)")
	fs.IntVar(&c.RateBurst, "burst", c.RateBurst, "burst of messages allowed per socket")
	fs.IntVar(&c.SendBudget, "send-budget", c.SendBudget, "bytes queued for one socket before it is closed as too slow (4001)")
	fs.StringVar(&origins, "allowed-origins", "", "comma-separated Origins allowed besides the server's own host (e.g. https://edit.example.com)")
	fs.DurationVar(&c.PingPeriod, "ping-period", c.PingPeriod, "how often sockets are pinged")
	fs.DurationVar(&c.PongWait, "pong-wait", c.PongWait, "a socket silent to pings this long is dropped")
	fs.DurationVar(&c.WriteWait, "write-wait", c.WriteWait, "time limit of one write to a socket")
	fs.Int64Var(&c.MaxBody, "max-body", c.MaxBody, "largest HTTP request body, in bytes")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "time limit for an HTTP request body to arrive (not WebSockets)")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "time limit for an HTTP answer to be written (not WebSockets)")
	fs.StringVar(&m.LogLevel, "log-level", m.LogLevel, "log level: debug, info, warn or error")
	fs.DurationVar(&m.ShutdownTimeout, "shutdown-timeout", m.ShutdownTimeout, "how long a graceful shutdown may take")
	fs.BoolVar(&m.NoApp, "no-app", m.NoApp, "serve the API only, without the browser app")
	fs.StringVar(&m.Durability, "durability", m.Durability, "what an acknowledged edit survives: power (fsync on every commit: a power cut) or process (no fsync per commit: a killed process, not a power cut or a machine crash)")
	fs.StringVar(&m.Store, "store", m.Store, "PostgreSQL URL (postgres://user:pass@host/db) to keep documents in, shared by several processes, instead of SQLite in -data")
	fs.StringVar(&m.NATS, "nats", m.NATS, "NATS URL (nats://host:4222) through which processes on the same -store relay each document to the one process that runs it (requires -store)")
	fs.DurationVar(&m.Lease, "lease", m.Lease, "with -store: how long a process's hold of a document lasts unrenewed (renewed every third of it); a dead process's documents move after this")
	fs.StringVar(&m.PprofAddr, "pprof-addr", "", "serve Go's profiler (net/http/pprof) on this loopback address, for measuring")
	fs.Usage = func() {
		fmt.Fprintf(output, "Usage: tandem [options]\n\nServes the Tandem collaborative editor. Every option can also be set\nby the environment variable shown; the command line wins.\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(output, "  -%s (%s, default %q)\n    \t%s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
		})
	}

	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if origins != "" {
		c.AllowedOrigins = splitList(origins)
	}
	if hosts != "" {
		c.AllowedHosts = splitList(hosts)
	}
	switch create {
	case "open":
		c.CreateClosed = false
	case "closed":
		c.CreateClosed = true
	default:
		return fmt.Errorf("-create %q: want open or closed", create)
	}
	if proxies != "" {
		c.TrustedProxies = nil
		for _, p := range splitList(proxies) {
			pfx, err := parsePrefix(p)
			if err != nil {
				return fmt.Errorf("-trusted-proxies: %w", err)
			}
			c.TrustedProxies = append(c.TrustedProxies, pfx)
		}
	}
	if (m.TLSCert == "") != (m.TLSKey == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("-public-url %q: want http(s)://host[:port], without a path", c.PublicURL)
		}
	}
	if _, err := parseLevel(m.LogLevel); err != nil {
		return err
	}
	if m.Store != "" && !strings.HasPrefix(m.Store, "postgres://") && !strings.HasPrefix(m.Store, "postgresql://") {
		return errors.New("-store: want a postgres:// URL (SQLite in -data is the default)")
	}
	if m.NATS != "" && m.Store == "" {
		return errors.New("-nats requires -store postgres://…: the processes must share one database")
	}
	if m.Lease < 300*time.Millisecond {
		return fmt.Errorf("-lease %v: want at least 300ms", m.Lease)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// parsePrefix reads an address ("127.0.0.1") or a CIDR ("10.0.0.0/8").
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// version is the module version and VCS revision the binary was built
// from, as the Go toolchain recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " " + rev[:min(12, len(rev))] + dirty
	}
	return v + " " + bi.GoVersion
}

func envName(flagName string) string {
	return "TANDEM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Run locks the data folder, opens the database, builds the session
// manager and the server, and begins serving; it returns once the
// listener is open. Serving errors come on Err. If Run fails, what it
// opened is closed again.
func (m *Main) Run(ctx context.Context) (err error) {
	level, err := parseLevel(m.LogLevel)
	if err != nil {
		return err
	}
	if m.logger == nil {
		m.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()

	if err := m.openStore(ctx); err != nil {
		return err
	}
	reg := metrics.New()
	sc := m.Session
	sc.Logger = m.logger
	sc.Observer = reg
	var sessions server.Sessions
	if m.Store != "" {
		// Several processes may share the database: each document runs
		// in the one process holding its lease; with NATS, the others
		// relay their sockets to it (docs/scaling.md).
		m.node = cluster.New(cluster.Config{Leases: m.db.(*postgres.DB), Period: m.Lease, NATS: m.nc, Logger: m.logger})
		sc.Leases = m.node
		mgr := session.NewManager(m.db, sc)
		if err := m.node.Start(mgr); err != nil {
			return err
		}
		sessions = m.node
	} else {
		sessions = session.NewManager(m.db, sc)
	}
	cfg := m.Config
	cfg.Logger = m.logger
	// Public client ids are derived with this key: kept in the database so
	// that a client's id survives restarts.
	cfg.IdentityKey, err = m.db.Secret(ctx, "identity", 32)
	if err != nil {
		return err
	}
	cfg.MetricsSeparate = m.MetricsAddr != ""
	cfg.MaxDocLen = m.Session.MaxDocLen
	if !m.NoApp {
		cfg.App = frontend.Handler()
	}
	m.server, err = server.New(cfg, server.Deps{Docs: m.db, Health: m.db, Sessions: sessions, Metrics: reg})
	if err != nil {
		return err
	}
	if m.node != nil {
		// Renames, deletions and reissued links made on other processes.
		m.node.OnEvent(m.server.Remote)
	}
	var tlsCfg *tls.Config
	if m.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(m.TLSCert, m.TLSKey)
		if err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	m.ln, err = net.Listen("tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Addr, err)
	}
	if m.Config.Legacy {
		if !m.loopback() {
			return fmt.Errorf("-legacy-protocol lets anyone who learns an id edit its document: it is refused on %s (loopback only)", m.Addr)
		}
		m.logger.Warn("-legacy-protocol: document ids open documents and clients name their own ids; for benchmarks only")
	}
	if tlsCfg != nil {
		m.ln = tls.NewListener(m.ln, tlsCfg)
	}
	if m.MetricsAddr != "" {
		m.mln, err = net.Listen("tcp", m.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", m.MetricsAddr, err)
		}
		m.mhttp = &http.Server{Handler: m.server.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func(srv *http.Server, ln net.Listener) {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.errc <- err
			}
		}(m.mhttp, m.mln)
	}
	if m.PprofAddr != "" {
		if err := m.servePprof(); err != nil {
			return err
		}
	}
	m.http = &http.Server{
		Handler: m.server.Handler(),
		// The server's own deadlines (-read-timeout, -write-timeout) bound
		// bodies and answers per route; these bound the rest.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for requests to end; the event streams end only when
	// told.
	m.http.RegisterOnShutdown(m.server.StopStreams)
	m.purgeStop = make(chan struct{})
	m.purgeDone = make(chan struct{})
	go m.purgeTrash(m.db) // ends when Close closes purgeStop
	// Ends when Close shuts the HTTP server down.
	go func(srv *http.Server, ln net.Listener) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.errc <- err
		}
	}(m.http, m.ln)
	if m.Store != "" {
		m.logger.Info("tandem serving: open "+m.URL()+"/ in a browser", "addr", m.ln.Addr().String(), "store", "postgres", "nats", m.NATS != "", "process", m.node.ID())
	} else {
		m.logger.Info("tandem serving: open "+m.URL()+"/ in a browser", "addr", m.ln.Addr().String(), "data", m.DataDir)
	}
	if m.Config.PublicURL == "" && !m.loopback() {
		m.logger.Warn("listening beyond this machine without -public-url: only loopback Host names are served; set -public-url to the address people open")
	}
	if !m.loopback() && !m.Config.CreateClosed && m.TLSCert == "" && !strings.HasPrefix(m.Config.PublicURL, "https://") {
		m.logger.Warn("listening beyond this machine in open mode without TLS: anyone who reaches it can create documents, and links travel in clear; see docs/deploy.md")
	}
	return nil
}

// servePprof serves net/http/pprof on PprofAddr. Profiles show the
// server's internals, so only a loopback address is accepted.
func (m *Main) servePprof() error {
	host, _, err := net.SplitHostPort(m.PprofAddr)
	if err != nil {
		return fmt.Errorf("-pprof-addr %q: %w", m.PprofAddr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-pprof-addr %q: the profiler is served on loopback addresses only", m.PprofAddr)
	}
	m.pln, err = net.Listen("tcp", m.PprofAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.PprofAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.phttp = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func(srv *http.Server, ln net.Listener) { // ends when Close shuts it down
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.errc <- err
		}
	}(m.phttp, m.pln)
	m.logger.Info("profiler serving", "addr", m.pln.Addr().String())
	return nil
}

// loopback reports whether the server listens on loopback only.
func (m *Main) loopback() bool {
	a, ok := m.ln.Addr().(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}

// purgeTrash deletes for good, now and every hour, the documents whose
// time in the trash is over.
func (m *Main) purgeTrash(db database) {
	defer close(m.purgeDone)
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if n, err := db.PurgeExpired(ctx, time.Now()); err != nil {
			m.logger.Error("purge the trash", "err", err)
		} else if n > 0 {
			m.logger.Info("purged from the trash", "documents", n)
		}
		cancel()
		select {
		case <-m.purgeStop:
			return
		case <-t.C:
		}
	}
}

// Err delivers an error if serving fails after Run.
func (m *Main) Err() <-chan error { return m.errc }

// URL returns the server's base URL, e.g. http://127.0.0.1:8080.
func (m *Main) URL() string {
	if m.ln == nil {
		return ""
	}
	addr := m.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
	}
	scheme := "http"
	if m.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Close shuts down gracefully, in this order, within ShutdownTimeout:
//  1. stop accepting: http.Server.Shutdown closes the listener and waits
//     for plain HTTP requests to finish (it does not touch WebSockets,
//     which are hijacked connections);
//  2. server.Close: the hubs commit what they hold, save snapshots and
//     close their peers with 1001 (going away); it waits for the sockets;
//  3. with -store: the cluster node stops renewing (the hubs released
//     their leases as they stopped) and the NATS connection closes;
//  4. the database closes;
//  5. the data folder's lock is released.
//
// It closes only what Run opened, so it also cleans up after a failed Run.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.ShutdownTimeout)
	defer cancel()
	var errs []error
	if m.http != nil {
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop accepting: %w", err))
		}
	}
	if m.mhttp != nil {
		if err := m.mhttp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop serving metrics: %w", err))
		}
	}
	if m.phttp != nil {
		m.phttp.Close() // a profile being taken is cut short
	} else if m.pln != nil {
		m.pln.Close()
	}
	if m.purgeStop != nil {
		close(m.purgeStop)
		<-m.purgeDone
		m.purgeStop = nil // Close may be called again
	}
	if m.server != nil {
		if err := m.server.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.node != nil {
		m.node.Close()
	}
	if m.nc != nil {
		m.nc.Close()
	}
	if m.db != nil {
		if err := m.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
	}
	if m.lock != nil {
		if err := m.lock.Release(); err != nil {
			errs = append(errs, err)
		}
	}
	if m.logger != nil && m.http != nil {
		m.logger.Info("tandem stopped")
	}
	return errors.Join(errs...)
}

// openStore opens the database: SQLite in DataDir (locked for this
// process), or PostgreSQL at Store and, with NATS, the NATS connection.
func (m *Main) openStore(ctx context.Context) error {
	if m.Store != "" {
		db, err := postgres.Open(ctx, m.Store)
		if err != nil {
			return err
		}
		m.db = db
		if m.NATS != "" {
			m.nc, err = nats.Connect(m.NATS,
				nats.Name("tandem"),
				nats.MaxReconnects(-1), // for ever: relays come back when NATS does
				nats.ReconnectWait(250*time.Millisecond),
				nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { m.logger.Warn("nats disconnected", "err", err) }),
				nats.ReconnectHandler(func(*nats.Conn) { m.logger.Info("nats reconnected") }),
				nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { m.logger.Warn("nats", "err", err) }),
			)
			if err != nil {
				return fmt.Errorf("nats %s: %w", redactURL(m.NATS), err)
			}
		}
		return nil
	}
	// Two processes on one SQLite database would each run a hub for the
	// same document and conflict at every revision: refuse to start
	// instead.
	var err error
	m.lock, err = store.LockDir(m.DataDir)
	var locked *store.LockedError
	if errors.As(err, &locked) {
		return fmt.Errorf("%w; stop it or choose another -data", err)
	}
	if err != nil {
		return err
	}
	durability, err := store.ParseDurability(m.Durability)
	if err != nil {
		return err
	}
	db, err := store.OpenWith(ctx, filepath.Join(m.DataDir, "tandem.db"), store.Options{Durability: durability})
	if err != nil {
		return err
	}
	m.db = db
	return nil
}

// redactURL hides a URL's password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// runBackup is "tandem backup [-data DIR] FILE": a consistent copy of the
// database into the new file FILE, safe while the server runs.
func runBackup(ctx context.Context, args []string, getenv func(string) string, output io.Writer) error {
	fs := flag.NewFlagSet("tandem backup", flag.ContinueOnError)
	fs.SetOutput(output)
	dir := getenv(envName("data"))
	if dir == "" {
		dir = "data"
	}
	fs.StringVar(&dir, "data", dir, "data directory holding tandem.db")
	fs.Usage = func() {
		fmt.Fprintf(output, "Usage: tandem backup [-data DIR] FILE\n\nWrites a consistent copy of DIR/tandem.db to the new file FILE (SQLite's\nVACUUM INTO); the server may keep running. Restore: stop the server and\nput FILE in place as DIR/tandem.db (see docs/deploy.md).\n\n")
		fs.PrintDefaults()
	}
	// Flags may come before or after FILE.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return errors.New("want one FILE to write")
	}
	out := files[0]
	if err := store.Backup(ctx, filepath.Join(dir, "tandem.db"), out); err != nil {
		return err
	}
	fmt.Fprintf(output, "backed up %s to %s\n", filepath.Join(dir, "tandem.db"), out)
	return nil
}
