// Package natstest runs a real nats-server (Debian's package nats-server)
// for tests: on 127.0.0.1, a free port, stopped by its PID when the test
// ends, and restartable on the same port.
//
// Without the binary the test is skipped, saying why; with
// TANDEM_REQUIRE_NATS=1 (test.sh sets it) it fails instead, so that CI
// cannot pass without running the NATS tests. It is for tests only.
package natstest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvRequire makes a missing nats-server fail the tests instead of
// skipping them.
const EnvRequire = "TANDEM_REQUIRE_NATS"

// Binary returns the nats-server to run: $PATH's, else /usr/sbin's
// (where Debian puts it).
func Binary() (string, error) {
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/nats-server", "/usr/bin/nats-server"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("no nats-server binary (apt-get install nats-server)")
}

// Server is a running nats-server.
type Server struct {
	tb   testing.TB
	bin  string
	port int
	dir  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs a nats-server for tb and stops it when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("natstest: %v, and %s=1", err, EnvRequire)
		}
		tb.Skipf("natstest: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("natstest: free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{tb: tb, bin: bin, port: port, dir: tb.TempDir()}
	if err := s.start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Stop() })
	return s
}

// URL is the server's nats:// URL.
func (s *Server) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

func (s *Server) start() error {
	cmd := exec.Command(s.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-l", filepath.Join(s.dir, "nats.log"))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("natstest: start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() // ends when the server exits
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "nats.log"))
			return fmt.Errorf("natstest: nats-server exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("natstest: nats-server not listening after 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the server (SIGTERM to its PID, SIGKILL after 5 s).
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// Restart stops the server and starts a new one on the same port.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}
