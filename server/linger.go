package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Closing a TCP connection that still has unread data, or that receives
// data after it was closed (a pong, the client's close frame), makes the
// kernel send a reset, which discards whatever was not yet delivered:
// often the last messages and the close frame, so the client sees an
// abnormal closure instead of the close code. melody closes the connection
// right after writing the close frame, so the adapter hands melody a
// connection whose Close only half-closes: it sends FIN after the data
// already written and bounds how long the reader may still wait. The
// descriptor is released by finish, once nothing reads it any more.

// drainWait and drainMax bound finish.
const (
	drainWait = time.Second
	drainMax  = 4 << 20
)

// lingerConn is a hijacked connection with a graceful Close.
type lingerConn struct {
	net.Conn
	linger time.Duration
	once   sync.Once
}

// Close half-closes the connection: FIN after the data already written,
// and a read deadline linger from now, so a reader still waiting for the
// client's close frame gives up in time.
func (c *lingerConn) Close() error {
	c.once.Do(func() {
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		c.Conn.SetReadDeadline(time.Now().Add(c.linger))
	})
	return nil
}

// finish releases the connection once nothing reads it: unless the client
// already sent its close frame (after which it sends nothing), it first
// discards what the client still sends, until the client closes or the
// bounds are reached.
func (c *lingerConn) finish(clientClosed bool) {
	c.Close()
	if !clientClosed {
		c.Conn.SetReadDeadline(time.Now().Add(drainWait))
		io.CopyN(io.Discard, c.Conn, drainMax)
	}
	c.Conn.Close()
}

// hijacker wraps the response writer so that the WebSocket library gets a
// lingerConn, recorded in the peer.
type hijacker struct {
	http.ResponseWriter
	p      *peer
	linger time.Duration
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("server: the response writer cannot be hijacked")
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	lc := &lingerConn{Conn: c, linger: h.linger}
	h.p.lc = lc
	return lc, rw, nil
}
