package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-editor/tandem/client"
	"github.com/tandem-editor/tandem/internal/pgtest"
	"github.com/tandem-editor/tandem/ot"
)

// childEnv makes the test binary run the real server (main) instead of the
// tests: the crash test starts it as a separate process so that it can be
// killed with SIGKILL.
const childEnv = "TANDEM_TEST_SERVER_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		os.Args = append([]string{"tandem"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	// The cluster tests need a PostgreSQL (internal/pgtest).
	pgtest.Main(m)
}

// startChild runs the server as a child process on addr over dir and waits
// until it answers /healthz.
func startChild(t *testing.T, addr, dir string, flags ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=-addr "+addr+" -data "+dir+" -log-level error -http-rate -1 -max-sockets-per-ip -1 "+strings.Join(flags, " "))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return cmd
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("server on %s did not become healthy: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestKillNineLosesNoAcknowledgedEdit kills the server process with SIGKILL
// while three clients edit, restarts it on the same data folder, and checks
// that every state a client saw acknowledged is in the history exactly:
// with either durability, since both promise to survive a killed process.
func TestKillNineLosesNoAcknowledgedEdit(t *testing.T) {
	for _, d := range []string{"power", "process"} {
		t.Run(d, func(t *testing.T) { testKillNine(t, "-durability", d) })
	}
}

func testKillNine(t *testing.T, flags ...string) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	addr, dir := freeAddr(t), t.TempDir()
	base := "http://" + addr
	child := startChild(t, addr, dir, flags...)
	defer func() { child.Process.Kill(); child.Wait() }()

	var d doc
	res, err := http.Post(base+"/api/docs", "application/json", strings.NewReader(`{"title":"crash"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := jsonDecode(res.Body, &d); err != nil {
		t.Fatal(err)
	}

	type acked struct {
		rev  int
		text string
	}
	var (
		mu   sync.Mutex
		seen []acked
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 3 {
		c, err := client.Dial(ctx, client.Config{URL: base, Doc: d.key(), Name: fmt.Sprint("w", i), Logger: quiet, MaxReconnects: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() { // ends when stop closes or the server is gone
			defer wg.Done()
			for n := 0; n < 10000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				word := []string{"a", "中", "😀", "é", " "}[n%5]
				if err := c.Edit(func(text string) ot.Op {
					var op ot.Op
					return *op.Retain(ot.Len(text)).Insert(word)
				}); err != nil {
					return
				}
				wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
				err := c.WaitSynced(wctx)
				wcancel()
				if err != nil {
					return
				}
				// Synchronized: the client's text is the server's text at
				// its revision, and the server has acknowledged it.
				mu.Lock()
				seen = append(seen, acked{c.Rev(), c.Text()})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 10 {
		t.Fatalf("only %d acknowledged states before the kill; the test needs more", len(seen))
	}
	child = startChild(t, addr, dir, flags...)
	var now doc
	get(t, base+"/api/docs/"+d.key(), &now)
	maxRev := 0
	for _, a := range seen {
		maxRev = max(maxRev, a.rev)
		var at doc
		get(t, fmt.Sprintf("%s/api/docs/%s?rev=%d", base, d.key(), a.rev), &at)
		if at.Text != a.text {
			t.Fatalf("revision %d after restart is %q; a client saw %q acknowledged", a.rev, at.Text, a.text)
		}
	}
	if now.Rev < maxRev {
		t.Fatalf("after restart the document is at revision %d; revision %d was acknowledged", now.Rev, maxRev)
	}
	t.Logf("%d acknowledged states checked, up to revision %d; %d after restart", len(seen), maxRev, now.Rev)
}

func jsonDecode(r io.ReadCloser, v any) error {
	defer r.Close()
	return json.NewDecoder(r).Decode(v)
}
