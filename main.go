// Command tandem serves Tandem, a collaborative plain-text editor: the
// browser app, the JSON API and the WebSocket protocol, with documents kept
// in a SQLite database. Run it with -h for the options; docs/protocol.md
// describes the protocol.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tandem-editor/tandem/frontend"
	"github.com/tandem-editor/tandem/server"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	if err := m.ParseFlags(os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tandem:", err)
		os.Exit(2)
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
	// Addr is the listen address (default ":8080").
	Addr string
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

	logger *slog.Logger
	lock   *store.Lock
	db     *store.DB
	server *server.Server
	ln     net.Listener
	http   *http.Server
	errc   chan error
}

// Defaults of the session manager, spelled out so that -h shows them.
const (
	defaultSnapshotEvery = 1000
	defaultMaxDocLen     = 10 << 20
)

// NewMain returns a Main with the defaults.
func NewMain() *Main {
	return &Main{
		Addr:    ":8080",
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
		},
		Session: session.Config{
			SnapshotEvery: defaultSnapshotEvery,
			MaxDocLen:     defaultMaxDocLen,
		},
		LogLevel:        "info",
		ShutdownTimeout: 15 * time.Second,
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
	var origins string
	fs.StringVar(&m.Addr, "addr", m.Addr, "listen address")
	fs.StringVar(&m.DataDir, "data", m.DataDir, "data directory (holds tandem.db and tandem.lock; created on first run; one process at a time)")
	fs.IntVar(&m.Session.SnapshotEvery, "snapshot-every", m.Session.SnapshotEvery, "save a document snapshot every this many operations")
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
		c.AllowedOrigins = nil
		for _, o := range strings.Split(origins, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.AllowedOrigins = append(c.AllowedOrigins, o)
			}
		}
	}
	if _, err := parseLevel(m.LogLevel); err != nil {
		return err
	}
	return nil
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

	// Two processes on one database would each run a hub for the same
	// document and conflict at every revision: refuse to start instead.
	m.lock, err = store.LockDir(m.DataDir)
	var locked *store.LockedError
	if errors.As(err, &locked) {
		return fmt.Errorf("%w; stop it or choose another -data", err)
	}
	if err != nil {
		return err
	}
	m.db, err = store.Open(ctx, filepath.Join(m.DataDir, "tandem.db"))
	if err != nil {
		return err
	}
	sc := m.Session
	sc.Logger = m.logger
	sessions := session.NewManager(m.db, sc)
	cfg := m.Config
	cfg.Logger = m.logger
	if !m.NoApp {
		cfg.App = frontend.Handler()
	}
	m.server, err = server.New(cfg, server.Deps{Docs: m.db, Health: m.db, Sessions: sessions})
	if err != nil {
		return err
	}
	m.ln, err = net.Listen("tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Addr, err)
	}
	m.http = &http.Server{
		Handler: m.server.Handler(),
		// The server's own deadlines (-read-timeout, -write-timeout) bound
		// bodies and answers per route; these bound the rest.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
	}
	// Ends when Close shuts the HTTP server down.
	go func(srv *http.Server, ln net.Listener) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.errc <- err
		}
	}(m.http, m.ln)
	m.logger.Info("tandem serving", "addr", m.ln.Addr().String(), "data", m.DataDir)
	return nil
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
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Close shuts down gracefully, in this order, within ShutdownTimeout:
//  1. stop accepting: http.Server.Shutdown closes the listener and waits
//     for plain HTTP requests to finish (it does not touch WebSockets,
//     which are hijacked connections);
//  2. server.Close: the hubs commit what they hold, save snapshots and
//     close their peers with 1001 (going away); it waits for the sockets;
//  3. the database closes;
//  4. the data folder's lock is released.
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
	if m.server != nil {
		if err := m.server.Close(ctx); err != nil {
			errs = append(errs, err)
		}
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
