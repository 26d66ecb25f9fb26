package server

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// countConn records each Write it gets.
type countConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *countConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, append([]byte(nil), b...))
	return len(b), nil
}

func (c *countConn) CloseWrite() error               { return nil }
func (c *countConn) SetReadDeadline(time.Time) error { return nil }

func TestCorkedWritesGoOutTogether(t *testing.T) {
	more := 3 // frames still coming after the one being written
	under := &countConn{}
	c := &lingerConn{Conn: under, more: func() bool { return more > 0 }}
	var want []byte
	for i, frame := range []string{"one", "two", "three", "four"} {
		more = 3 - i
		if _, err := c.Write([]byte(frame)); err != nil {
			t.Fatal(err)
		}
		want = append(want, frame...)
	}
	if len(under.writes) != 1 || !bytes.Equal(under.writes[0], want) {
		t.Fatalf("writes %q, want one write of %q", under.writes, want)
	}

	// A frame that would take the buffer past corkMax goes out at once,
	// after what was kept back, in order.
	under.writes = nil
	more = 1
	c.Write([]byte("small"))
	big := bytes.Repeat([]byte("x"), corkMax)
	c.Write(big)
	if len(under.writes) != 2 || string(under.writes[0]) != "small" || !bytes.Equal(under.writes[1], big) {
		t.Fatalf("got %d writes, want the kept frame, then the large one", len(under.writes))
	}

	// Without a writer promising more, nothing is kept back.
	under.writes = nil
	more = 0
	c.Write([]byte("alone"))
	if len(under.writes) != 1 {
		t.Fatalf("%d writes, want 1", len(under.writes))
	}

	// Close sends what was kept back before the FIN.
	under.writes = nil
	more = 1
	c.Write([]byte("last"))
	c.Close()
	if len(under.writes) != 1 || string(under.writes[0]) != "last" {
		t.Fatalf("writes %q after Close, want the kept frame", under.writes)
	}
}
