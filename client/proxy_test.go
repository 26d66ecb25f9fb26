package client

import (
	"net"
	"sync"
	"testing"
)

// proxy is a TCP proxy on a fixed local address that the tests can break:
// blackhole one direction (bytes are read and dropped), cut every
// connection, or point it at another server (a restart on a new port).
type proxy struct {
	ln net.Listener

	mu       sync.Mutex
	target   string
	holeUp   bool // drop client→server bytes
	holeDown bool // drop server→client bytes
	dropped  int  // bytes dropped so far
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

func newProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: listen: %v", err)
	}
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept() // ends when the listener is closed
	t.Cleanup(p.close)
	return p
}

// URL is the proxy's base URL.
func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) setTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

// blackhole starts dropping the bytes of one direction on the open
// connections; cut them afterwards (the streams are then corrupt).
func (p *proxy) blackhole(up, down bool) {
	p.mu.Lock()
	p.holeUp, p.holeDown = up, down
	p.mu.Unlock()
}

func (p *proxy) droppedBytes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

// cut closes every open connection and lifts the blackholes.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	p.holeUp, p.holeDown = false, false
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close() // the server is down: the client retries
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		// Each pipe ends when either side is closed.
		go p.pipe(s, c, true)
		go p.pipe(c, s, false)
	}
}

func (p *proxy) pipe(dst, src net.Conn, up bool) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			hole := (up && p.holeUp) || (!up && p.holeDown)
			if hole {
				p.dropped += n
			}
			p.mu.Unlock()
			if !hole {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return // EOF, or a side was closed
		}
	}
}
