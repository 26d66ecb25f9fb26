package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-editor/tandem/store"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// -tls-cert and -tls-key serve HTTPS; -metrics-addr moves /metrics off
// the main address.
func TestTLSAndMetricsAddress(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, t.TempDir())
	m := NewMain()
	if err := m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-data", dir, "-tls-cert", cert, "-tls-key", key,
		"-metrics-addr", "127.0.0.1:0"}, func(string) string { return "" }, io.Discard); err != nil {
		t.Fatal(err)
	}
	m.logger = quietLogger()
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !strings.HasPrefix(m.URL(), "https://") {
		t.Fatalf("URL %q, want https", m.URL())
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	res, err := c.Get(m.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil {
		t.Fatalf("healthz over TLS: %d", res.StatusCode)
	}
	// Plain HTTP on the TLS port gets nothing useful.
	if res, err := http.Get(strings.Replace(m.URL(), "https", "http", 1) + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatal("plain HTTP served on the TLS port")
		}
	}
	res, err = c.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the main address with -metrics-addr: %d, want 404", res.StatusCode)
	}
	res, err = http.Get("http://" + m.mln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(body, []byte("tandem_")) {
		t.Fatalf("/metrics on -metrics-addr: %d %.200s", res.StatusCode, body)
	}
}

// tandem backup writes a database that opens with the same documents,
// while the server runs.
func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	m := startMain(t, dir)
	defer m.Close()
	res, err := http.Post(m.URL()+"/api/docs", "application/json", strings.NewReader(`{"title":"Backed up"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	out := filepath.Join(t.TempDir(), "backup.db")
	var msg bytes.Buffer
	if err := runBackup(context.Background(), []string{"-data", dir, out}, func(string) string { return "" }, &msg); err != nil {
		t.Fatalf("backup: %v (%s)", err, msg.String())
	}
	if err := runBackup(context.Background(), []string{"-data", dir}, func(string) string { return "" }, io.Discard); err == nil {
		t.Fatal("backup without a file succeeded")
	}
	// Flags may follow the file too.
	out2 := filepath.Join(t.TempDir(), "backup2.db")
	if err := runBackup(context.Background(), []string{out2, "-data", dir}, func(string) string { return "" }, io.Discard); err != nil {
		t.Fatalf("backup FILE -data DIR: %v", err)
	}
	if err := runBackup(context.Background(), []string{out2 + "x", out2 + "y", "-data", dir}, func(string) string { return "" }, io.Discard); err == nil {
		t.Fatal("backup to two files succeeded")
	}
	db, err := store.Open(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	docs, err := db.ListDocs(context.Background())
	if err != nil || len(docs) != 1 || docs[0].Title != "Backed up" {
		t.Fatalf("the backup lists %+v, %v", docs, err)
	}
}

func TestVersionFlag(t *testing.T) {
	m := NewMain()
	if err := m.ParseFlags([]string{"-version"}, func(string) string { return "" }, io.Discard); err != nil || !m.ShowVersion {
		t.Fatalf("-version: %v", err)
	}
	if v := version(); v == "" || !strings.Contains(v, "go1") {
		t.Fatalf("version %q", v)
	}
}

// The defaults keep a newcomer's server on this machine.
func TestListensOnLoopbackByDefault(t *testing.T) {
	m := NewMain()
	if err := m.ParseFlags(nil, func(string) string { return "" }, io.Discard); err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(m.Addr); host != "127.0.0.1" {
		t.Fatalf("default address %q", m.Addr)
	}
	for _, bad := range [][]string{{"-create", "sometimes"}, {"-trusted-proxies", "nope"}, {"-tls-cert", "x"}, {"-public-url", "edit.example.com"}} {
		if err := NewMain().ParseFlags(bad, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("flags %q accepted", bad)
		}
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestLegacyProtocolOnlyOnLoopback(t *testing.T) {
	m := NewMain()
	if err := m.ParseFlags([]string{"-addr", "0.0.0.0:0", "-data", t.TempDir(), "-legacy-protocol"}, func(string) string { return "" }, io.Discard); err != nil {
		t.Fatal(err)
	}
	m.logger = quietLogger()
	if err := m.Run(context.Background()); err == nil {
		m.Close()
		t.Fatal("-legacy-protocol started on every interface")
	}
}

// A graceful stop does not wait on open event streams.
func TestCloseEndsEventStreams(t *testing.T) {
	m := startMain(t, t.TempDir())
	res, err := http.Get(m.URL() + "/api/events?keys=x")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	m.ShutdownTimeout = 5 * time.Second
	// Without the streams ended first, Close runs out of time waiting.
	if err := m.Close(); err != nil {
		t.Fatalf("Close with an event stream open: %v", err)
	}
}
