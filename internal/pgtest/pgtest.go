// Package pgtest gives tests a throwaway PostgreSQL: one cluster per test
// binary, started by Main from Debian's binaries in a temporary folder, and
// a fresh database per test from Start.
//
// Which server is used:
//   - TANDEM_TEST_POSTGRES_URL set: that server (a superuser's URL, or one
//     allowed to CREATE DATABASE); nothing is started.
//   - else /usr/lib/postgresql/*/bin/{initdb,postgres} (the newest version
//     found): a cluster on 127.0.0.1 and a unix socket in the folder, fsync
//     off, run as user nobody when the tests run as root (PostgreSQL refuses
//     to run as root), stopped and removed when the tests end.
//   - neither: Start skips the test, saying why; with
//     TANDEM_REQUIRE_POSTGRES=1 it fails it instead, so that CI cannot pass
//     without running the PostgreSQL tests.
//
// It is for tests only. Start is safe for concurrent use.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables.
const (
	EnvURL     = "TANDEM_TEST_POSTGRES_URL"
	EnvRequire = "TANDEM_REQUIRE_POSTGRES"
)

// adminURL is the URL of the server's postgres database (the cluster's, or
// EnvURL), set by Main before any test runs; "" with why when there is none.
var (
	adminURL string
	why      string
)

// Main starts the cluster, runs the tests and stops it; a test binary's
// TestMain calls it:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// If no PostgreSQL can be started, the tests still run: Start then skips
// (or fails, under TANDEM_REQUIRE_POSTGRES=1) each one that asks for a
// database, with the reason.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if u := os.Getenv(EnvURL); u != "" {
		adminURL = u
		return m.Run()
	}
	c, err := startCluster()
	if err != nil {
		why = err.Error()
		return m.Run()
	}
	adminURL = c.url
	defer func() {
		if err := c.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}()
	return m.Run()
}

// Start creates a fresh database (t_<random>) for tb, drops it when tb ends,
// and returns its URL. Without Main (or without a server) it skips tb, or
// fails it under TANDEM_REQUIRE_POSTGRES=1.
func Start(tb testing.TB) string {
	tb.Helper()
	if adminURL == "" {
		msg := why
		if msg == "" {
			msg = "pgtest.Main did not run (call it from TestMain)"
		}
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("pgtest: no PostgreSQL, and %s=1: %s", EnvRequire, msg)
		}
		tb.Skipf("pgtest: no PostgreSQL (set %s, or install Debian's postgresql): %s", EnvURL, msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := make([]byte, 8)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		tb.Fatalf("pgtest: connect to %s: %v", redact(adminURL), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		// FORCE: a pool the test forgot to close must not keep it.
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// cluster is a running postgres process and its folder.
type cluster struct {
	dir string
	cmd *exec.Cmd
	url string
	// exited is closed when the process has been waited for.
	exited chan struct{}
}

// binDir returns the newest /usr/lib/postgresql/<version>/bin that has
// both initdb and postgres.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("no /usr/lib/postgresql/*/bin with initdb and postgres (apt-get install postgresql)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// startCluster makes a cluster in a new temporary folder and starts it.
func startCluster() (_ *cluster, err error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tandem-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("temporary folder: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	if cred != nil {
		// The folder (made 0700 by MkdirTemp) becomes the server user's.
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("give %s to uid %d: %w", dir, cred.Uid, err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
		// A test cluster need not survive a crash: no fsync, and less
		// waiting at every commit.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c := &cluster{dir: dir, cmd: cmd, exited: make(chan struct{}),
		url: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	// Waits for the server process; ends when it exits.
	go func() { cmd.Wait(); close(c.exited) }()
	if err := c.waitReady(30 * time.Second); err != nil {
		c.stop()
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("postgres did not start: %v\n%s", err, log)
	}
	return c, nil
}

// credential returns the user to run PostgreSQL as: nil (this process's)
// unless this process is root, which PostgreSQL refuses; then nobody.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root and no user nobody to run postgres as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user nobody: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// freePort asks the kernel for a free TCP port on 127.0.0.1. Another
// process could take it before postgres does; postgres then fails to start
// and says so.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *cluster) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited: %v", c.cmd.ProcessState)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.url)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not accepting connections after %v: %v", limit, last)
}

// stop asks postgres for a fast shutdown (SIGINT), kills it if it has not
// exited after 5 s, and removes the folder.
func (c *cluster) stop() error {
	var errs []error
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		errs = append(errs, fmt.Errorf("stop postgres (pid %d): %w", c.cmd.Process.Pid, err))
	}
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", c.dir, err))
	}
	return errors.Join(errs...)
}
