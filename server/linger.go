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

// Corking: a write syscall costs about as much as everything else the
// server does for one message, and a document's batch sends each peer
// several messages at once. When the peer has more messages on their way
// to the WebSocket writer than the one being written (more reports it),
// Write keeps the frame in a buffer, and the last frame of the run goes
// out with the ones before it in one system call. Nothing waits for a
// timer: the buffer is flushed by the writer's own next Write, which is
// coming, and by Close. The frames and their order are unchanged, so this
// is invisible to clients.

// corkMax bounds the bytes one connection keeps back; a frame that would
// take the buffer past it is written at once, with what is buffered.
const corkMax = 64 << 10

var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// lingerConn is a hijacked connection with a graceful Close and corked
// writes.
type lingerConn struct {
	net.Conn
	linger time.Duration
	once   sync.Once

	// more reports whether another message is already queued for the
	// writer after the frame being written (nil: never cork).
	more func() bool
	wmu  sync.Mutex
	buf  *[]byte // frames kept back, from corkBufs; nil when empty
}

// Write sends b, or keeps it back while more frames are coming (see
// corkMax). Writes are serialised by the WebSocket library; wmu guards the
// buffer against a Close from another goroutine.
func (c *lingerConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var held int
	if c.buf != nil {
		held = len(*c.buf)
	}
	if held+len(b) <= corkMax {
		if c.more != nil && c.more() {
			if c.buf == nil {
				c.buf = corkBufs.Get().(*[]byte)
			}
			*c.buf = append(*c.buf, b...)
			return len(b), nil
		}
		if held > 0 {
			*c.buf = append(*c.buf, b...)
			err := c.flushLocked()
			if err != nil {
				return 0, err
			}
			return len(b), nil
		}
		return c.Conn.Write(b)
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// flushLocked writes the frames kept back, in one call. c.wmu must be held.
func (c *lingerConn) flushLocked() error {
	if c.buf == nil {
		return nil
	}
	b := c.buf
	c.buf = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	*b = (*b)[:0]
	corkBufs.Put(b)
	return err
}

// Close half-closes the connection: FIN after the data already written,
// and a read deadline linger from now, so a reader still waiting for the
// client's close frame gives up in time.
func (c *lingerConn) Close() error {
	c.once.Do(func() {
		c.wmu.Lock()
		c.flushLocked()
		c.wmu.Unlock()
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
	p := h.p
	lc := &lingerConn{Conn: c, linger: h.linger, more: func() bool { return p.inflight.Load() > 1 }}
	h.p.lc = lc
	return lc, rw, nil
}
