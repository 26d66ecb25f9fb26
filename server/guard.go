package server

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Hosts and origins. A browser lets any web page send requests to a server
// on the person's own machine or network, and DNS rebinding lets a page on
// attacker.example reach it under that name. So a request is served only
// when its Host is loopback or the public URL's host (a rebinding page's
// requests carry the attacker's name), and a request from a page must come
// from an allowed Origin: the public URL's, one listed in AllowedOrigins,
// or, on a loopback Host, the server's own address with the same scheme.

// hostAllowed reports whether the request's Host may be served.
func (s *Server) hostAllowed(r *http.Request) bool {
	host := hostname(r.Host)
	if isLoopbackHost(host) {
		return true
	}
	if s.public != nil && strings.EqualFold(host, s.public.Hostname()) {
		return true
	}
	for _, h := range s.cfg.AllowedHosts {
		if strings.EqualFold(host, h) {
			return true
		}
	}
	return false
}

// hostname strips the port from a Host header value.
func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// isLoopbackHost: localhost, a name under .localhost (RFC 6761 keeps them
// on the machine), or a loopback address.
func isLoopbackHost(h string) bool {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

// checkHost is the middleware refusing foreign Hosts. /healthz is exempt:
// health checks often name the machine by an address, and it tells
// nothing.
func (s *Server) checkHost(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.URL.Path != "/healthz" && !s.hostAllowed(r) {
			return apiErrorf(codeForbidden, "host %q is not served here; set -public-url to the address people use", clipReason(r.Host))
		}
		return next(c)
	}
}

// originAllowed accepts a request without Origin (not from a browser
// page), and one whose Origin is allowed (see above). The scheme counts:
// http://host is not https://host.
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // includes "null", sent by sandboxed and file:// pages
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	if s.public != nil && origin == strings.ToLower(s.public.Scheme+"://"+s.public.Host) {
		return true
	}
	for _, a := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	return isLoopbackHost(hostname(r.Host)) && origin == strings.ToLower(s.scheme(r)+"://"+r.Host)
}

// scheme is the scheme the client used: https when the connection is TLS
// or a trusted proxy says so.
func (s *Server) scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if s.fromTrustedProxy(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return "https"
	}
	return "http"
}

// fromTrustedProxy reports whether the connection comes from a configured
// reverse proxy, whose forwarding headers are then believed.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	ip, ok := remoteIP(r)
	return ok && s.trusted(ip)
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func remoteIP(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// clientAddr is the address limits count against (an IPv6 address as its
// /64): the connection's, or,
// behind trusted proxies, the last address in X-Forwarded-For that is not
// one of them (the proxies append; earlier entries can be forged by the
// client).
func (s *Server) clientAddr(r *http.Request) string {
	ip, ok := remoteIP(r)
	if !ok {
		return r.RemoteAddr
	}
	if !s.trusted(ip) {
		return limitKey(ip)
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: stop at the last proxy
		}
		h = h.Unmap()
		if !s.trusted(h) {
			return limitKey(h)
		}
		ip = h
	}
	return limitKey(ip)
}

// Limits per client address. Each address has an HTTP request bucket, a
// document-creation bucket and a count of open WebSockets. Entries idle
// for limitIdle are swept, so the table stays bounded by the addresses
// seen recently.
type addrLimits struct {
	mu        sync.Mutex
	addrs     map[string]*addrState
	lastSweep time.Time

	httpRate   rate.Limit
	httpBurst  int
	createRate rate.Limit
	createMax  int
	sockets    int // most open WebSockets per address; <= 0: no limit
}

type addrState struct {
	http, create *rate.Limiter
	sockets      int
	streams      int // event streams, counted apart so a page's stream does not take its socket's place
	seen         time.Time
}

const (
	limitIdle = 10 * time.Minute
	// maxAddrs bounds the table. Past it, entries indistinguishable from
	// fresh ones (no socket, full buckets) are dropped first; if none is,
	// new addresses share one overflow entry, so the limits still hold,
	// together, and memory stays bounded.
	maxAddrs = 100_000
	overflow = "overflow"
)

func newAddrLimits(cfg *Config) *addrLimits {
	l := &addrLimits{addrs: make(map[string]*addrState), sockets: cfg.MaxSocketsPerAddr,
		httpRate: rate.Inf, createRate: rate.Inf}
	if cfg.HTTPRate > 0 {
		l.httpRate, l.httpBurst = rate.Limit(cfg.HTTPRate), cfg.HTTPBurst
	}
	if cfg.CreatePerMinute > 0 {
		l.createRate, l.createMax = rate.Limit(float64(cfg.CreatePerMinute)/60), cfg.CreatePerMinute
	}
	return l
}

// get returns addr's state, under l.mu.
func (l *addrLimits) get(addr string, now time.Time) *addrState {
	if now.Sub(l.lastSweep) > limitIdle/10 {
		l.lastSweep = now
		for a, st := range l.addrs {
			if st.sockets == 0 && st.streams == 0 && now.Sub(st.seen) > limitIdle {
				delete(l.addrs, a)
			}
		}
	}
	st := l.addrs[addr]
	if st == nil && len(l.addrs) >= maxAddrs {
		for a, st := range l.addrs {
			if st.sockets == 0 && st.streams == 0 && st.http.TokensAt(now) >= float64(st.http.Burst()) &&
				st.create.TokensAt(now) >= float64(st.create.Burst()) {
				delete(l.addrs, a)
			}
		}
		if len(l.addrs) >= maxAddrs {
			addr = overflow
			st = l.addrs[addr]
		}
	}
	if st == nil {
		st = &addrState{http: rate.NewLimiter(l.httpRate, l.httpBurst), create: rate.NewLimiter(l.createRate, l.createMax)}
		l.addrs[addr] = st
	}
	st.seen = now
	return st
}

// limitKey is what an address is counted as: itself for IPv4, its /64 for
// IPv6 (one subscriber usually holds a whole /64).
func limitKey(ip netip.Addr) string {
	if ip.Is6() && !ip.Is4In6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}

// allow takes a token from addr's HTTP (create false) or creation bucket;
// when there is none it returns how long until there is.
func (l *addrLimits) allow(addr string, create bool) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b := l.get(addr, now).http
	if create {
		b = l.get(addr, now).create
	}
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// openSocket counts a WebSocket for addr; it reports false, counting
// nothing, when addr already has the most allowed.
func (l *addrLimits) openSocket(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.get(addr, time.Now())
	if l.sockets > 0 && st.sockets >= l.sockets {
		return false
	}
	st.sockets++
	return true
}

// openStream and closeStream count event streams as openSocket and
// closeSocket count WebSockets, against the same limit, apart.
func (l *addrLimits) openStream(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.get(addr, time.Now())
	if l.sockets > 0 && st.streams >= l.sockets {
		return false
	}
	st.streams++
	return true
}

func (l *addrLimits) closeStream(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.addrs[addr]; st != nil && st.streams > 0 {
		st.streams--
		st.seen = time.Now()
	}
}

func (l *addrLimits) closeSocket(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.addrs[addr]; st != nil && st.sockets > 0 {
		st.sockets--
		st.seen = time.Now()
	}
}

// tooMany is a 429 answer with Retry-After in whole seconds.
func tooMany(c echo.Context, wait time.Duration, what string) error {
	secs := max(1, int((wait+time.Second-1)/time.Second))
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return apiErrorf(codeRateLimited, "%s; try again in %d s", what, secs)
}

// limitRequests is the middleware applying the HTTP request rate per
// address.
func (s *Server) limitRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ok, wait := s.limits.allow(s.clientAddr(c.Request()), false); !ok {
			return tooMany(c, wait, "too many requests from your address")
		}
		return next(c)
	}
}
