package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

// Fatal errors reported by Err (wrapped with detail; test with errors.Is).
var (
	// ErrClosed: Close was called.
	ErrClosed = errors.New("client closed")
	// ErrRejected: the server refused an op or the client's state (close
	// 4000) and Config.ResyncOnReject is off.
	ErrRejected = errors.New("server refused the client's op")
	// ErrTooLarge: the server refused a message as too large (close 1009)
	// and Config.ResyncOnReject is off.
	ErrTooLarge = errors.New("message too large for the server")
	// ErrForbidden: close 4003 or a 403 upgrade.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the document does not exist or was deleted (close 4004).
	ErrNotFound = errors.New("document not found")
	// ErrReplaced: another connection joined with the same client id
	// (close 4009).
	ErrReplaced = errors.New("replaced by a newer connection with the same client id")
	// ErrGaveUp: Config.MaxReconnects connection attempts failed in a row.
	ErrGaveUp = errors.New("gave up reconnecting")
)

// Config configures a Client. URL and Doc are required; zero values of
// the other fields take the defaults given.
type Config struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:8080"; the
	// WebSocket URL {URL}/api/docs/{Doc}/ws is derived from it (http→ws,
	// https→wss).
	URL string
	// Doc is the key of the document: the token of its edit or view link
	// (the link's last path segment), which decides what the client may do.
	Doc string
	// Secret is the client's secret ([A-Za-z0-9_-]{22,64}), kept across
	// reconnects; the server derives the client's public id from it.
	// Default: none, and the server issues one on the first join.
	Secret string
	// Name and Color are announced to the peers (Color "#rgb" or
	// "#rrggbb"; the server picks one if empty).
	Name, Color string
	// Origin, if set, is sent as the Origin header of the upgrade.
	Origin string

	// OnRemote, if set, is called with every remote op applied to the
	// local text (as applied locally). OnResync, if set, is called after a
	// resync or an unexpected snapshot dropped pending local edits, with
	// those edits as one op on the text they were based on. Both are
	// called from the client's goroutines, one call at a time, in order,
	// without the client's lock held: they may call the Client's methods but should
	// return quickly and must not wait for the client (WaitSynced ...),
	// since no message is read meanwhile. Waiters wake after the hooks.
	OnRemote func(op ot.Op)
	OnResync func(lost ot.Op)
	// OnAck, if set, is called with the seq of every local op the server
	// acknowledged, under the same rules as OnRemote.
	OnAck func(seq int)

	// ResyncOnReject: on a close whose action is "resync" (4000: op
	// refused, state invalid; 1009: message too large), rejoin without a
	// revision and carry on from a fresh snapshot. Off by default: the
	// client stops and Err reports the refusal. The pending local edits
	// are dropped either way.
	ResyncOnReject bool

	// ReconnectMin and ReconnectMax bound the delay between reconnection
	// attempts, which doubles with each consecutive failure, with jitter
	// (defaults 50 ms and 5 s). RateLimitDelay is the least delay after a
	// rate-limit close 1008 (default 1 s).
	ReconnectMin, ReconnectMax, RateLimitDelay time.Duration
	// MaxReconnects is how many connection attempts in a row may fail
	// (not reach a completed join) before the client gives up with
	// ErrGaveUp (default 30; negative: no limit).
	MaxReconnects int

	// Dialer dials the WebSocket (default: 10 s handshake timeout, proxy
	// from the environment).
	Dialer *websocket.Dialer
	// Logger receives connection events (default slog.Default()).
	Logger *slog.Logger
}

// Timeouts of the connection. A ping every pingEvery keeps an idle
// connection's read deadline moving.
const (
	writeTimeout = 10 * time.Second
	pingEvery    = 20 * time.Second
	readTimeout  = 3 * pingEvery
	// stableAfter: a connection that lasted this long counts as healthy
	// and resets the backoff.
	stableAfter = time.Second
)

// Client is a connection to one document that survives network failures:
// a Machine driven by a connection loop. It keeps the local text, sends
// local edits (one op in flight at a time, later ones composed), applies
// remote ones and reconnects by itself, resubmitting what the server did
// not acknowledge with the same seq so that nothing is applied twice.
//
// All methods are safe for concurrent use. Each connection has one reader
// goroutine (which also calls the hooks) and one writer goroutine; a
// supervisor goroutine reconnects. They all end when Close returns or
// after a fatal error (Err).
type Client struct {
	cfg   Config
	wsURL string
	log   *slog.Logger

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the supervisor goroutine ends

	mu      sync.Mutex
	m       *Machine
	link    *link         // current connection, nil between connections
	changed chan struct{} // closed (and replaced) on every state change
	err     error         // fatal error
	closed  bool
	joins   int // completed joins
}

// link is one WebSocket connection.
type link struct {
	ws   *websocket.Conn
	wake chan struct{} // the outbox has messages
	stop chan struct{} // closed when the connection ends
}

func (l *link) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Dial connects to the document, joins it and waits for the first joined
// message. A failure of that first attempt is returned (wrapping
// ErrNotFound, ErrForbidden ... where they apply); later connection
// failures are handled by reconnecting. ctx bounds Dial only.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Doc == "" {
		return nil, errors.New("client: config has no document id")
	}
	if cfg.Secret != "" && !wire.ValidSecret(cfg.Secret) {
		return nil, errors.New("client: the secret does not match [A-Za-z0-9_-]{22,64}")
	}
	// The server would refuse these joins and leave Dial waiting.
	if cfg.Color != "" && !wire.ValidColor(cfg.Color) {
		return nil, fmt.Errorf("client: color %q is not #rgb or #rrggbb", cfg.Color)
	}
	if n := ot.Len(cfg.Name); n > wire.MaxNameLen {
		return nil, fmt.Errorf("client: name is %d UTF-16 units long; at most %d", n, wire.MaxNameLen)
	}
	wsURL, err := wsURL(cfg.URL, cfg.Doc)
	if err != nil {
		return nil, err
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = 50 * time.Millisecond
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 5 * time.Second
	}
	cfg.ReconnectMax = max(cfg.ReconnectMax, cfg.ReconnectMin)
	if cfg.RateLimitDelay <= 0 {
		cfg.RateLimitDelay = time.Second
	}
	if cfg.MaxReconnects == 0 {
		cfg.MaxReconnects = 30
	}
	if cfg.Dialer == nil {
		cfg.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Client{
		cfg:     cfg,
		wsURL:   wsURL,
		log:     cfg.Logger.With("doc", cfg.Doc),
		done:    make(chan struct{}),
		m:       NewMachine(cfg.Secret, cfg.Name, cfg.Color),
		changed: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	ws, err := c.dial(ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	// The supervisor ends after Close or a fatal error.
	go c.supervise(ws)
	err = c.waitFor(ctx, func() bool { return c.joins > 0 })
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("client: join %s: %w", cfg.Doc, err)
	}
	return c, nil
}

func wsURL(base, doc string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("client: bad URL %q: %w", base, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("client: URL %q: scheme must be http, https, ws or wss", base)
	}
	// Path holds the unescaped form, RawPath the escaped one, so that a
	// "/" in the id stays part of the id.
	u.RawPath = strings.TrimSuffix(u.EscapedPath(), "/") + "/api/docs/" + url.PathEscape(doc) + "/ws"
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/docs/" + doc + "/ws"
	return u.String(), nil
}

// dial opens a WebSocket. A refused upgrade with 403 or 404 is fatal.
func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	var h http.Header
	if c.cfg.Origin != "" {
		h = http.Header{"Origin": {c.cfg.Origin}}
	}
	ws, resp, err := c.cfg.Dialer.DialContext(ctx, c.wsURL, h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			switch resp.StatusCode {
			case http.StatusForbidden:
				return nil, &fatalError{fmt.Errorf("client: dial %s: %w (HTTP 403)", c.wsURL, ErrForbidden)}
			case http.StatusNotFound:
				return nil, &fatalError{fmt.Errorf("client: dial %s: %w (HTTP 404)", c.wsURL, ErrNotFound)}
			}
			return nil, fmt.Errorf("client: dial %s: HTTP %d: %w", c.wsURL, resp.StatusCode, err)
		}
		return nil, fmt.Errorf("client: dial %s: %w", c.wsURL, err)
	}
	return ws, nil
}

// fatalError marks an error that ends the client.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// ended says how a connection ended.
type ended struct {
	code    int           // close code from the server, 0 if none
	reason  string        // its reason
	err     error         // the read error
	fatal   error         // a protocol violation: stop
	joined  bool          // the join completed
	lasted  time.Duration // how long the connection was up
	refusal *ServerError  // the last error message received
}

// supervise runs connections one after another until Close or a fatal
// error; ws is the first, already open.
func (c *Client) supervise(ws *websocket.Conn) {
	defer close(c.done)
	fails, rapid := 0, 0 // attempts in a row without a join; short-lived connections in a row
	for {
		var delay time.Duration
		if ws != nil {
			e := c.serve(ws)
			ws = nil
			if e.joined {
				fails = 0
			} else {
				fails++
			}
			if e.lasted >= stableAfter {
				rapid = 0
			} else {
				rapid++
			}
			if c.isClosed() {
				return
			}
			if e.fatal != nil {
				c.fail(e.fatal)
				return
			}
			var stop error
			delay, stop = c.next(e, max(fails, rapid))
			if stop != nil {
				c.fail(stop)
				return
			}
			c.log.Debug("connection ended; reconnecting", "code", e.code, "reason", e.reason, "err", e.err, "delay", delay)
		} else {
			delay = c.backoff(max(fails, rapid))
		}
		if c.cfg.MaxReconnects > 0 && fails >= c.cfg.MaxReconnects {
			c.fail(fmt.Errorf("client: %d connection attempts failed in a row: %w", fails, ErrGaveUp))
			return
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				return
			}
		}
		var err error
		ws, err = c.dial(c.ctx)
		if err != nil {
			if c.isClosed() {
				return
			}
			if errors.As(err, new(*fatalError)) {
				c.fail(err)
				return
			}
			c.log.Debug("reconnect failed", "err", err)
			fails++
			rapid++
			ws = nil
		}
	}
}

// next decides, from how a connection ended, the delay before the next
// attempt or a fatal error. What to do after each close code comes from
// the table in wire/closecodes.json (Machine.Closed), as in the browser.
func (c *Client) next(e ended, n int) (time.Duration, error) {
	why := func(sentinel error) error {
		if e.refusal != nil {
			return fmt.Errorf("client: close %d (%s): %w: %w", e.code, e.reason, sentinel, e.refusal)
		}
		return fmt.Errorf("client: close %d (%s): %w", e.code, e.reason, sentinel)
	}
	c.mu.Lock()
	act, lost, ok := c.m.Closed(e.code)
	c.notifyLocked()
	c.mu.Unlock()
	switch act {
	case wire.ActionStop:
		switch e.code {
		case wire.CloseForbidden:
			return 0, why(ErrForbidden)
		case wire.CloseNotFound:
			return 0, why(ErrNotFound)
		case wire.CloseReplaced:
			return 0, why(ErrReplaced)
		}
		return 0, why(ErrProtocol)
	case wire.ActionResync:
		sentinel := ErrRejected
		if e.code == wire.CloseTooLarge {
			sentinel = ErrTooLarge
		}
		if !c.cfg.ResyncOnReject {
			return 0, why(sentinel)
		}
		c.log.Warn("resync: local edits dropped", "code", e.code, "reason", e.reason, "refusal", e.refusal, "lost", ok)
		if ok && c.cfg.OnResync != nil {
			c.cfg.OnResync(lost)
		}
		return c.backoff(n - 1), nil
	case wire.ActionReconnectNow:
		return c.backoff(n - 1), nil // at once, unless it keeps happening
	case wire.ActionWait:
		return max(c.cfg.RateLimitDelay, c.backoff(max(n, 1))), nil
	}
	return c.backoff(max(n, 1)), nil
}

// backoff returns the delay before attempt n (n ≤ 0: none), doubling from
// ReconnectMin up to ReconnectMax, with jitter in [d/2, d].
func (c *Client) backoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := c.cfg.ReconnectMin
	for i := 1; i < n && d < c.cfg.ReconnectMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.ReconnectMax)
	return d/2 + rand.N(d/2+1)
}

// serve runs one connection until it ends.
func (c *Client) serve(ws *websocket.Conn) ended {
	start := time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		ws.Close()
		return ended{err: ErrClosed}
	}
	l := &link{ws: ws, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	c.link = l
	join := c.m.Join()
	c.mu.Unlock()

	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(readTimeout)) })
	writerDone := make(chan struct{})
	var e ended
	ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := ws.WriteMessage(websocket.TextMessage, wire.Encode(join)); err != nil {
		e.err = fmt.Errorf("send join: %w", err)
		close(writerDone)
	} else {
		// The writer ends when the connection ends (stop) or a write fails.
		go func() {
			defer close(writerDone)
			c.write(l)
		}()
		e = c.read(l)
	}
	close(l.stop)
	ws.Close()
	<-writerDone
	c.mu.Lock()
	c.link = nil
	c.m.Disconnected()
	c.notifyLocked()
	c.mu.Unlock()
	e.lasted = time.Since(start)
	return e
}

// write sends the Machine's outbox whenever it has messages, and pings.
func (c *Client) write(l *link) {
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ping.C:
			if err := l.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				l.ws.Close()
				return
			}
			continue
		case <-l.wake:
		}
		c.mu.Lock()
		msgs := c.m.Outbox()
		c.mu.Unlock()
		for _, msg := range msgs {
			l.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := l.ws.WriteMessage(websocket.TextMessage, wire.Encode(msg)); err != nil {
				// Closing makes the reader fail; what was not sent is
				// still pending in the Machine and goes out after the
				// next join.
				l.ws.Close()
				return
			}
		}
	}
}

// read handles the server's messages until the connection ends.
func (c *Client) read(l *link) ended {
	var e ended
	for {
		l.ws.SetReadDeadline(time.Now().Add(readTimeout))
		_, data, err := l.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				e.code, e.reason = ce.Code, ce.Text
			}
			e.err = err
			return e
		}
		var msg wire.Message
		if err := json.Unmarshal(data, &msg); err != nil {
			e.fatal = fmt.Errorf("client: server message %.80q: %w: %w", data, ErrProtocol, err)
			return e
		}
		c.mu.Lock()
		ev, err := c.m.Receive(&msg)
		if len(c.m.outbox) > 0 {
			l.signal()
		}
		if ev.Joined {
			c.joins++
		}
		c.mu.Unlock()
		if err != nil {
			e.fatal = fmt.Errorf("client: %s message: %w", msg.Type, err)
			return e
		}
		if ev.Joined {
			e.joined = true
			c.log.Debug("joined", "rev", *msg.Rev, "seq", *msg.Seq, "client", msg.Client)
		}
		if ev.Error != nil {
			e.refusal = ev.Error
			c.log.Warn("server error", "code", ev.Error.Code, "message", ev.Error.Message, "seq", ev.Error.Seq)
		}
		if ev.Remote && c.cfg.OnRemote != nil {
			c.cfg.OnRemote(ev.Op)
		}
		if ev.Acked != 0 && c.cfg.OnAck != nil {
			c.cfg.OnAck(ev.Acked)
		}
		if ev.Lost {
			c.log.Warn("snapshot replaced the text: local edits dropped")
			if c.cfg.OnResync != nil {
				c.cfg.OnResync(ev.LostOp)
			}
		}
		// Waiters wake after the hooks ran: when WaitRev returns, OnRemote
		// has seen every op up to that revision.
		c.mu.Lock()
		c.notifyLocked()
		c.mu.Unlock()
	}
}

func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err == nil && !c.closed {
		c.err = err
		c.log.Error("client stopped", "err", err)
	}
	c.notifyLocked()
	c.mu.Unlock()
}

// waitFor waits until cond (called with c.mu held) holds, a fatal error,
// Close, or ctx's end.
func (c *Client) waitFor(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		ok, err, closed, ch := cond(), c.err, c.closed, c.changed
		c.mu.Unlock()
		switch {
		case ok:
			return nil
		case err != nil:
			return err
		case closed:
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// usableLocked returns why the client cannot take edits, or nil.
func (c *Client) usableLocked() error {
	if c.closed {
		return ErrClosed
	}
	return c.err
}

// ID returns the client's public id, as others see it in ops and
// presence. Dial returns after the first joined, so it is set.
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Client()
}

// Text returns the local text.
func (c *Client) Text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Text()
}

// Rev returns the server revision the local text is based on.
func (c *Client) Rev() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Rev()
}

// Seq returns the highest seq given to a local op so far. Once Synced,
// the server's log holds this client's ops with seqs 1..Seq().
func (c *Client) Seq() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Seq()
}

// Edit makes a local edit atomically: fn gets the current local text and
// returns an op on it, which is applied locally at once and sent when
// possible. fn runs with the client's lock held and must not call the
// Client's methods. It fails if fn's op does not apply, or after Close or
// a fatal error.
func (c *Client) Edit(fn func(text string) ot.Op) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return err
	}
	if err := c.m.Edit(fn(c.m.Text())); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	c.afterLocalLocked()
	return nil
}

// Type is Edit for callers that need only the text's length (UTF-16
// units), as a keystroke does: Edit hands fn the whole text, which costs a
// copy of it per edit. Type returns the seq of the op that carries the
// edit (see Machine.Carrier; Config.OnAck reports it acknowledged), or 0
// if the edit changed nothing.
func (c *Client) Type(fn func(length int) ot.Op) (seq int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return 0, err
	}
	if err := c.m.Edit(fn(c.m.Len())); err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	c.afterLocalLocked()
	return c.m.Carrier(), nil
}

// Submit is Edit with a ready op, which must apply to Text().
func (c *Client) Submit(op ot.Op) error {
	return c.Edit(func(string) ot.Op { return op })
}

// SetSelection sets the client's selections in positions of Text() (nil:
// no cursor). They reach the peers once nothing is pending.
func (c *Client) SetSelection(sel []ot.Range) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return err
	}
	if err := c.m.SetSelection(sel); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	c.afterLocalLocked()
	return nil
}

func (c *Client) afterLocalLocked() {
	if c.link != nil && len(c.m.outbox) > 0 {
		c.link.signal()
	}
	c.notifyLocked()
}

// Selection returns the client's own selections in local positions.
func (c *Client) Selection() []ot.Range {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Selection()
}

// Peers returns the other clients present, by client id, with their
// selections in positions of Text().
func (c *Client) Peers() map[string]Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Peers()
}

// Synced reports whether no local edit is in flight or buffered (and the
// client has a document: after a resync, not before the new snapshot).
func (c *Client) Synced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Synced()
}

// Connected reports whether the client is joined to the document now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Joined()
}

// WaitSynced waits until Synced, a fatal error (returned), Close
// (ErrClosed) or the end of ctx.
func (c *Client) WaitSynced(ctx context.Context) error {
	return c.waitFor(ctx, c.m.Synced)
}

// WaitRev waits until the local text is based on revision rev or later,
// with the same ends as WaitSynced.
func (c *Client) WaitRev(ctx context.Context, rev int) error {
	return c.waitFor(ctx, func() bool { return c.m.Rev() >= rev })
}

// WaitFor waits until cond holds, with the same ends as WaitSynced. cond is
// called with the client's lock held, after every change of state: it must
// not call the Client's methods; it gets the Machine to inspect (read-only).
func (c *Client) WaitFor(ctx context.Context, cond func(m *Machine) bool) error {
	return c.waitFor(ctx, func() bool { return cond(c.m) })
}

// Disconnect drops the connection as a network failure would (no close
// frame). The client reconnects by itself.
func (c *Client) Disconnect() {
	c.mu.Lock()
	l := c.link
	c.mu.Unlock()
	if l != nil {
		l.ws.Close()
	}
}

// Err returns the error that stopped the client, or nil.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close says goodbye to the server (close 1000), ends the connection and
// waits for the client's goroutines. Edits not yet acknowledged are lost.
// Later calls do nothing.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	l := c.link
	c.notifyLocked()
	c.mu.Unlock()
	var err error
	if l != nil {
		err = l.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
		if errors.Is(err, websocket.ErrCloseSent) || errors.Is(err, net.ErrClosed) {
			err = nil
		}
		l.ws.Close()
	}
	c.cancel()
	<-c.done
	if err != nil {
		return fmt.Errorf("client: close: %w", err)
	}
	return nil
}
