package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandem-editor/tandem/wire"
)

// A view link reads and joins; it cannot edit through the API or the
// WebSocket, and nothing it reads holds the edit token.
func TestViewLinkCannotEdit(t *testing.T) {
	_, ts := newTestServer(t, nil)
	k := createDocLinks(t, ts)
	ed := dial(t, ts, k.Edit)
	ed.join("ed", nil)
	ed.submit(0, 1, `["hello"]`)

	code, body := do(t, "GET", ts.URL+"/api/docs/"+k.View, "")
	var d docJSON
	json.Unmarshal(body, &d)
	if code != http.StatusOK || d.Text == nil || *d.Text != "hello" || d.Role != "view" {
		t.Fatalf("GET with the view token: %d %s", code, body)
	}
	if d.Links == nil || d.Links.Edit != "" || d.Links.View != "/d/"+k.View {
		t.Fatalf("a viewer sees links %+v; want only the view link", d.Links)
	}
	ops := func() []byte {
		_, b := do(t, "GET", ts.URL+"/api/docs/"+k.View+"/ops", "")
		return b
	}
	for what, b := range map[string][]byte{"doc": body, "ops": ops()} {
		if strings.Contains(string(b), k.Edit) {
			t.Fatalf("%s read with the view token holds the edit token: %s", what, b)
		}
	}
	for _, req := range []struct{ method, path, body string }{
		{"PATCH", "", `{"title":"x"}`},
		{"DELETE", "", ""},
		{"POST", "/links", `{"reissue":"edit"}`},
		{"POST", "/links", `{"reissue":"view"}`},
	} {
		code, body := do(t, req.method, ts.URL+"/api/docs/"+k.View+req.path, req.body, "Content-Type", jsonCT)
		if code != http.StatusForbidden || errorCode(t, body) != codeForbidden {
			t.Errorf("%s %s with the view token: %d %s, want 403 forbidden", req.method, req.path, code, body)
		}
	}

	v := dial(t, ts, k.View)
	before, joined := v.join("viewer", nil)
	if !joined.View || len(before) != 1 || *before[0].Text != "hello" {
		t.Fatalf("viewer's join: %+v then %+v", before, joined)
	}
	// Viewers appear in presence, marked.
	if p := ed.next(wire.TypePresence); p.Client != joined.Client || !p.View {
		t.Fatalf("the editor sees the viewer arrive as %+v", p)
	}
	v.sendRaw(`{"type":"op","rev":1,"seq":1,"op":[5," world"]}`)
	if e := v.expectError(wire.CodeForbidden); e.Seq == nil || *e.Seq != 1 {
		t.Fatalf("viewer's op refused as %+v", e)
	}
	v.expectClose(wire.CloseForbidden)
	if text, rev := docText(t, ts, k.Edit); text != "hello" || rev != 1 {
		t.Fatalf("after the viewer's op: %q at %d", text, rev)
	}
	// The editor carries on.
	if rev := ed.submit(1, 2, `[5,"!"]`); rev != 2 {
		t.Fatalf("editor's ack at %d", rev)
	}
}

// A random token, an id without the admin token, and a revoked token are
// all not found, on every route.
func TestUnknownAndRevokedTokens(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.AdminToken = testAdmin })
	k := createDocLinks(t, ts)
	v := dial(t, ts, k.View)
	v.join("v", nil)

	code, body := do(t, "POST", ts.URL+"/api/docs/"+k.Edit+"/links", `{"reissue":"view"}`, "Content-Type", jsonCT)
	var r struct{ Links linksJSON }
	json.Unmarshal(body, &r)
	if code != http.StatusOK || r.Links.View == "/d/"+k.View || r.Links.Edit != "/d/"+k.Edit {
		t.Fatalf("reissue the view link: %d %s", code, body)
	}
	// The viewer connected through the old link is closed.
	v.expectError(wire.CodeLinkRevoked)
	v.expectClose(wire.CloseForbidden)

	random := "AAAAAAAAAAAAAAAAAAAAAA"
	for _, key := range []string{random, k.ID, k.View} {
		for _, path := range []string{"", "/ops"} {
			if code, body := do(t, "GET", ts.URL+"/api/docs/"+key+path, ""); code != http.StatusNotFound {
				t.Errorf("GET %s%s: %d %s, want 404", key, path, code, body)
			}
		}
		for _, m := range []string{"PATCH", "DELETE"} {
			if code, body := do(t, m, ts.URL+"/api/docs/"+key, `{"title":"x"}`, "Content-Type", jsonCT); code != http.StatusNotFound {
				t.Errorf("%s %s: %d %s, want 404", m, key, code, body)
			}
		}
		c := dial(t, ts, key)
		c.sendRaw(`{"type":"join"}`)
		c.expectError(wire.CodeNotFound)
		c.expectClose(wire.CloseNotFound)
	}
	// The new view link works; the administrator opens the document by id.
	if code, _ := do(t, "GET", ts.URL+"/api/docs/"+strings.TrimPrefix(r.Links.View, "/d/"), ""); code != http.StatusOK {
		t.Errorf("the new view link: %d", code)
	}
	if code, body := do(t, "GET", ts.URL+"/api/docs/"+k.ID, "", "Authorization", "Bearer "+testAdmin); code != http.StatusOK {
		t.Errorf("the administrator by id: %d %s", code, body)
	}
	if code, _ := do(t, "GET", ts.URL+"/api/docs/"+k.ID, "", "Authorization", "Bearer wrong"); code != http.StatusNotFound {
		t.Errorf("a wrong admin token by id: %d, want 404", code)
	}
}

func TestListNeedsTheAdminToken(t *testing.T) {
	for _, admin := range []string{"", testAdmin} {
		_, ts := newTestServer(t, func(c *testConfig) { c.AdminToken = admin })
		createDoc(t, ts)
		for _, auth := range []string{"", "Bearer ", "Bearer wrong", "Basic " + testAdmin} {
			code, body := do(t, "GET", ts.URL+"/api/docs", "", "Authorization", auth)
			if code != http.StatusUnauthorized || errorCode(t, body) != codeUnauthorized {
				t.Errorf("admin %q, Authorization %q: %d %s, want 401", admin, auth, code, body)
			}
			if code, _ := do(t, "GET", ts.URL+"/metrics", "", "Authorization", auth); code != http.StatusUnauthorized {
				t.Errorf("metrics, Authorization %q: %d, want 401", auth, code)
			}
		}
	}
}

func TestClosedCreation(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) {
		c.AdminToken, c.CreateClosed = testAdmin, true
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	create := func(hdr ...string) int {
		code, _ := do(t, "POST", ts.URL+"/api/docs", `{}`, append([]string{"Content-Type", jsonCT}, hdr...)...)
		return code
	}
	if c := create(); c != http.StatusUnauthorized {
		t.Errorf("anonymous creation in closed mode: %d, want 401", c)
	}
	if c := create("Authorization", "Bearer "+testAdmin); c != http.StatusCreated {
		t.Errorf("the administrator: %d", c)
	}
	if c := create("X-Forwarded-User", "ada@example.com"); c != http.StatusCreated {
		t.Errorf("a user named by the trusted proxy: %d", c)
	}
	// From an address that is not a trusted proxy the header counts for
	// nothing.
	_, ts2 := newTestServer(t, func(c *testConfig) {
		c.CreateClosed = true
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	})
	code, _ := do(t, "POST", ts2.URL+"/api/docs", `{}`, "Content-Type", jsonCT, "X-Forwarded-User", "ada@example.com")
	if code != http.StatusUnauthorized {
		t.Errorf("the user header from an untrusted address: %d, want 401", code)
	}
}

// Foreign Hosts (a DNS-rebinding page's requests carry its own name) and
// foreign Origins are refused, WebSocket upgrades included.
func TestHostAndOrigin(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) { c.PublicURL = "https://edit.example.com" })
	key := createDoc(t, ts)
	port := ts.URL[strings.LastIndex(ts.URL, ":")+1:]
	for _, tc := range []struct {
		host, origin string
		want         int
	}{
		{"127.0.0.1:" + port, "", 200},
		{"localhost:" + port, "http://localhost:" + port, 200},
		{"[::1]:" + port, "", 200},
		{"edit.example.com", "https://edit.example.com", 200},
		{"EDIT.example.com:443", "", 200},
		{"attacker.example:" + port, "", 403},                                // DNS rebinding
		{"attacker.example:" + port, "http://attacker.example:" + port, 403}, // the page itself
		{"192.168.1.5:" + port, "", 403},
		{"localhost:" + port, "http://attacker.example:" + port, 403},
		{"edit.example.com", "http://edit.example.com", 403}, // wrong scheme
		{"localhost:" + port, "https://localhost:" + port, 403},
		{"edit.example.com", "https://edit.example.com.attacker.example", 403},
	} {
		hdr := []string{"Host", tc.host}
		if tc.origin != "" {
			hdr = append(hdr, "Origin", tc.origin)
		}
		// A change (PATCH checks the Origin) and a WebSocket upgrade.
		code, body := doHost(t, "PATCH", ts.URL+"/api/docs/"+key, `{"title":"t"}`, append(hdr, "Content-Type", jsonCT)...)
		if code != tc.want {
			t.Errorf("PATCH Host %q Origin %q: %d %s, want %d", tc.host, tc.origin, code, body, tc.want)
		}
		h := http.Header{}
		h.Set("Host", tc.host)
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
		c, res, err := d.Dial(wsURL(ts, key), h)
		switch {
		case tc.want == 200 && err != nil:
			t.Errorf("upgrade Host %q Origin %q: %v", tc.host, tc.origin, err)
		case tc.want != 200 && (err == nil || res == nil || res.StatusCode != tc.want):
			t.Errorf("upgrade Host %q Origin %q: %v, want %d", tc.host, tc.origin, err, tc.want)
		}
		if c != nil {
			c.Close()
		}
	}
	// /healthz answers any Host: probes name machines by address.
	if code, _ := doHost(t, "GET", ts.URL+"/healthz", "", "Host", "10.1.2.3:8080"); code != 200 {
		t.Errorf("healthz with an address as Host: %d", code)
	}
}

// doHost is do with a Host header (net/http takes it from Request.Host).
func doHost(t *testing.T, method, url, body string, hdr ...string) (int, []byte) {
	t.Helper()
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			host := hdr[i+1]
			rest := append(append([]string{}, hdr[:i]...), hdr[i+2:]...)
			return doWith(t, method, url, body, func(r *http.Request) { r.Host = host }, rest...)
		}
	}
	return do(t, method, url, body, hdr...)
}

// Joining with another client's public id neither closes that client
// nor writes as it, and its resubmission still lands.
func TestPublicIDCannotBeStolen(t *testing.T) {
	_, ts := newTestServer(t, nil)
	key := createDoc(t, ts)
	victim := dial(t, ts, key)
	_, vj := victim.join("victim", nil)
	victim.submit(0, 1, `["a"]`)

	// The victim sends seq 2; it is applied, but the ack is "lost" (the
	// victim's connection ends before it reads it).
	victim.sendRaw(`{"type":"op","rev":1,"seq":2,"op":[1,"b"]}`)
	victim.next(wire.TypeAck)

	thief := dial(t, ts, key)
	thief.sendRaw(`{"type":"join","client":` + jsonString(vj.Client) + `}`)
	thief.expectError(wire.CodeBadClient)
	_, tj := thief.join("thief", nil)
	if tj.Client == vj.Client {
		t.Fatal("the thief got the victim's public id")
	}
	// Using the public id as a secret gives another id.
	thief2 := dial(t, ts, key)
	thief2.sendRaw(`{"type":"join","secret":` + jsonString(vj.Client+"xx") + `}`)
	thief2.next(wire.TypeSnapshot)
	if m := thief2.next(wire.TypeJoined); m.Client == vj.Client {
		t.Fatal("a secret made from the public id gave the victim's id")
	}
	// The thief writes only as itself.
	thief.submit(2, 1, `[2,"X"]`)
	// The victim was not closed: its seq 3 lands as its own.
	victim.next(wire.TypeOp) // the thief's
	victim.sendRaw(`{"type":"op","rev":2,"seq":3,"op":[2,"c"]}`)
	ack := victim.next(wire.TypeAck)
	if *ack.Seq != 3 {
		t.Fatalf("victim's ack %+v", ack)
	}
	code, body := do(t, "GET", ts.URL+"/api/docs/"+key+"/ops", "")
	if code != 200 {
		t.Fatal(code)
	}
	var es []entryJSON
	json.Unmarshal(body, &es)
	var mine []int
	for _, e := range es {
		if e.Client == vj.Client {
			mine = append(mine, e.Seq)
		}
	}
	if fmt.Sprint(mine) != "[1 2 3]" {
		t.Fatalf("the victim's seqs in the log: %v, want [1 2 3]", mine)
	}
}

// Each limit per address answers 429 with Retry-After, or a close code,
// while a client from another address carries on.
func TestLimitsPerAddress(t *testing.T) {
	_, ts := newTestServer(t, func(c *testConfig) {
		c.MaxSocketsPerAddr, c.CreatePerMinute, c.HTTPRate, c.HTTPBurst = 2, 3, 1, 20
		c.JoinTimeout = 300 * time.Millisecond
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	from := func(addr string) []string { return []string{"X-Forwarded-For", addr, "Content-Type", jsonCT} }
	// Creations: 3, then 429.
	var key string
	for i := range 4 {
		code, body, hdr := doFull(t, "POST", ts.URL+"/api/docs", `{}`, from("203.0.113.1")...)
		if i < 3 && code != http.StatusCreated {
			t.Fatalf("creation %d: %d %s", i, code, body)
		}
		if i == 0 {
			var d docJSON
			json.Unmarshal(body, &d)
			key = strings.TrimPrefix(d.Links.Edit, "/d/")
		}
		if i == 3 && (code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || errorCode(t, body) != codeRateLimited) {
			t.Fatalf("creation over the limit: %d %s Retry-After %q", code, body, hdr.Get("Retry-After"))
		}
	}
	if code, _, _ := doFull(t, "POST", ts.URL+"/api/docs", `{}`, from("203.0.113.2")...); code != http.StatusCreated {
		t.Fatalf("another address creates: %d", code)
	}
	// HTTP requests: a burst of 20, then 429 for that address only.
	limited := false
	for range 40 {
		code, _, hdr := doFull(t, "GET", ts.URL+"/api/docs/"+key, "", from("203.0.113.3")...)
		if code == http.StatusTooManyRequests {
			limited = hdr.Get("Retry-After") != ""
			break
		}
	}
	if !limited {
		t.Fatal("40 requests at once from one address were all served")
	}
	if code, _, _ := doFull(t, "GET", ts.URL+"/api/docs/"+key, "", from("203.0.113.4")...); code != http.StatusOK {
		t.Fatalf("another address reads: %d", code)
	}
	// Sockets: 2 per address; the third is told and closed.
	hdr := http.Header{"X-Forwarded-For": {"203.0.113.5"}}
	var socks []*websocket.Conn
	for range 3 {
		c, _, err := websocket.DefaultDialer.Dial(wsURL(ts, key), hdr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		socks = append(socks, c)
	}
	third := &wsClient{t: t, c: socks[2]}
	third.expectError(wire.CodeTooManyConnections)
	third.expectClose(wire.ClosePolicy)
	// A socket that does not join is closed; one that joins stays.
	idle := &wsClient{t: t, c: socks[0]}
	idle.expectError(wire.CodeJoinTimeout)
	idle.expectClose(wire.ClosePolicy)
	joined := &wsClient{t: t, c: socks[1]}
	// socks[1] may have timed out too by now: dial a fresh one to check
	// that joining in time keeps a socket open past the timeout.
	joined.c.Close()
	fresh := dial(t, ts, key)
	fresh.join("f", nil)
	time.Sleep(500 * time.Millisecond)
	fresh.submit(0, 1, `["ok"]`)
}

// Legacy mode speaks the original sketch for the benchmark harness: the id
// opens the document for editing and a join's client id is kept as given.
// Without it, neither works.
func TestLegacyProtocol(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		_, ts := newTestServer(t, func(c *testConfig) { c.Legacy = legacy })
		k := createDocLinks(t, ts)
		code, _ := do(t, "GET", ts.URL+"/api/docs/"+k.ID, "")
		if (code == http.StatusOK) != legacy {
			t.Fatalf("legacy %v: GET by id: %d", legacy, code)
		}
		c := dial(t, ts, k.Edit)
		c.sendRaw(`{"type":"join","client":"bench-1","name":"b"}`)
		if !legacy {
			c.expectError(wire.CodeBadClient)
			continue
		}
		c.next(wire.TypeSnapshot)
		if j := c.next(wire.TypeJoined); j.Client != "bench-1" || j.Secret != "" {
			t.Fatalf("legacy join: %+v", j)
		}
		if rev := c.submit(0, 1, `["x"]`); rev != 1 {
			t.Fatalf("legacy op acked at %d", rev)
		}
	}
}

func TestAddressTableIsBounded(t *testing.T) {
	// Buckets that take hours to refill: the test does not depend on time.
	cfg := Config{MaxSocketsPerAddr: 2, CreatePerMinute: 1, HTTPRate: 1e-4, HTTPBurst: 1}
	l := newAddrLimits(&cfg)
	// Addresses that spent a token are kept; past the bound, new ones share
	// the overflow entry, whose limits still hold.
	for i := range maxAddrs {
		if ok, _ := l.allow(fmt.Sprintf("a%d", i), false); !ok {
			t.Fatalf("address %d refused its first request", i)
		}
	}
	if ok, _ := l.allow("late-1", false); !ok {
		t.Fatal("the first address past the bound was refused")
	}
	if ok, _ := l.allow("late-2", false); ok {
		t.Fatal("a second address past the bound got a fresh bucket")
	}
	if n := len(l.addrs); n > maxAddrs+1 {
		t.Fatalf("%d entries", n)
	}
	if got := limitKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); got != "2001:db8:1:2::/64" {
		t.Fatalf("IPv6 key %q", got)
	}
	if got := limitKey(netip.MustParseAddr("192.0.2.7")); got != "192.0.2.7" {
		t.Fatalf("IPv4 key %q", got)
	}
}
