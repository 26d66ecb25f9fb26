package natstest

import (
	"net"
	"strings"
	"testing"
)

// TestStartRestart: the server answers NATS's INFO greeting, and again
// after a restart on the same port.
func TestStartRestart(t *testing.T) {
	s := Start(t)
	greet := func() {
		t.Helper()
		c, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "nats://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		b := make([]byte, 4)
		if _, err := c.Read(b); err != nil || string(b) != "INFO" {
			t.Fatalf("got %q, %v; want INFO", b, err)
		}
	}
	greet()
	s.Restart()
	greet()
}
