package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	"github.com/olahol/melody"
	"golang.org/x/time/rate"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/session"
	"github.com/tandem-editor/tandem/store"
	"github.com/tandem-editor/tandem/wire"
)

// peerKey is the melody session key holding the *peer.
const peerKey = "tandem.peer"

// readSlack is what melody's read limit allows beyond Config.MaxMessage. A
// message within the slack is read and refused with a too_large error and
// close 1009; a longer one is cut off by the WebSocket library while it
// reads the frame header, which sends close 1009 by itself (no error
// message can precede it).
const readSlack = 64 << 10

// newMelody configures melody for the protocol: melody's defaults accept any
// Origin, cap messages at 512 bytes and drop messages when a session's
// buffer is full.
func (s *Server) newMelody() *melody.Melody {
	m := melody.New()
	m.Upgrader.CheckOrigin = s.originAllowed
	// An idle socket should cost little: reads reuse the HTTP server's
	// buffer (ReadBufferSize 0), and a write buffer is held only while a
	// message is being written.
	m.Upgrader.ReadBufferSize = 0
	m.Upgrader.WriteBufferSize = 4096
	m.Upgrader.WriteBufferPool = &sync.Pool{}
	m.Upgrader.Error = func(w http.ResponseWriter, r *http.Request, status int, reason error) {
		writeError(w, status, codeForStatus(status), reason.Error())
	}
	m.Config.MaxMessageSize = s.cfg.MaxMessage + readSlack
	m.Config.MessageBufferSize = maxInflight
	m.Config.PingPeriod = s.cfg.PingPeriod
	m.Config.PongWait = s.cfg.PongWait
	m.Config.WriteWait = s.cfg.WriteWait

	m.HandleConnect(func(ms *melody.Session) {
		p := peerOf(ms)
		p.mu.Lock()
		p.s = ms
		p.pump() // a Close that came before the connection was set up
		p.mu.Unlock()
		s.onConnect(p)
	})
	m.HandleMessage(s.onMessage)
	m.HandleMessageBinary(func(ms *melody.Session, _ []byte) {
		p := peerOf(ms)
		if p.isClosing() || !s.pace(p) {
			return
		}
		s.refuse(p, wire.CodeBinaryFrame, "binary frames are not part of the protocol", nil)
	})
	m.HandleSentMessage(func(ms *melody.Session, _ []byte) { peerOf(ms).sent() })
	m.HandleError(func(ms *melody.Session, err error) {
		if errors.Is(err, melody.ErrMessageBufferFull) {
			// Cannot happen while peer.pump respects maxInflight.
			s.log.Error("websocket message dropped", "doc", peerOf(ms).doc, "err", err)
			return
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			// Reported by the reader when the client sent its close frame.
			peerOf(ms).clientClosed = true
		}
		s.log.Debug("websocket", "doc", peerOf(ms).doc, "remote", ms.Request.RemoteAddr, "err", err)
	})
	m.HandleDisconnect(func(ms *melody.Session) {
		p := peerOf(ms)
		if p.joinTimer != nil {
			p.joinTimer.Stop()
		}
		p.disconnected()
		if p.conn != nil {
			p.conn.Leave()
		}
	})
	return m
}

func peerOf(ms *melody.Session) *peer { return ms.MustGet(peerKey).(*peer) }

// handleWS upgrades GET /api/docs/{key}/ws. The Origin is checked before
// the upgrade, so that a foreign page gets a plain 403. An unknown key is
// reported after the join (error not_found, close 4004), and too many
// sockets from one address after the upgrade (too_many_connections, close
// 1008), because a browser cannot read the status of a refused upgrade.
func (s *Server) handleWS(c echo.Context) error {
	r := c.Request()
	if !s.originAllowed(r) {
		return apiErrorf(codeForbidden, "origin %q is not allowed", r.Header.Get("Origin"))
	}
	p := &peer{budget: s.cfg.SendBudget, obs: s.metricsReg, lim: rate.NewLimiter(rate.Inf, 0), addr: s.clientAddr(r)}
	if s.cfg.RateLimit > 0 {
		p.lim = rate.NewLimiter(rate.Limit(s.cfg.RateLimit), s.cfg.RateBurst)
	}
	a, err := s.resolveParam(c)
	switch {
	case err == nil && a.doc.InTrash():
		// Like a deleted document: the join is refused with not_found.
	case err == nil:
		p.doc, p.key, p.role = a.doc.ID, a.key, a.role
	case errors.Is(err, oplog.ErrNotFound):
		// p.doc stays empty: the join is refused with not_found.
	default:
		return err
	}
	counted := s.limits.openSocket(p.addr)
	if counted {
		defer s.limits.closeSocket(p.addr)
	}

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return apiErrorf(codeUnavailable, "the server is shutting down")
	}
	s.peers[p] = struct{}{}
	s.sockets.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.peers, p)
		s.mu.Unlock()
		s.sockets.Done()
	}()

	if !counted {
		p.refuseOnConnect = wire.CodeTooManyConnections
	}
	// HandleRequestWithKeys returns when the connection has ended.
	w := &hijacker{ResponseWriter: c.Response(), p: p, linger: s.cfg.WriteWait}
	if err := s.ws.HandleRequestWithKeys(w, r, map[string]any{peerKey: p}); err != nil {
		s.log.Debug("websocket upgrade failed", "doc", p.doc, "err", err)
	}
	if p.lc != nil {
		p.lc.finish(p.clientClosed)
	}
	return nil
}

// onConnect runs when a socket is set up: it refuses one over its
// address's limit, and closes any that has not joined within JoinTimeout.
func (s *Server) onConnect(p *peer) {
	switch {
	case p.refuseOnConnect == wire.CodeTooManyConnections:
		s.refuse(p, wire.CodeTooManyConnections, fmt.Sprintf("more than %d connections from your address", s.cfg.MaxSocketsPerAddr), nil)
	case s.cfg.JoinTimeout > 0:
		p.joinTimer = time.AfterFunc(s.cfg.JoinTimeout, func() {
			if !p.joined.Load() {
				s.refuse(p, wire.CodeJoinTimeout, fmt.Sprintf("no join within %v", s.cfg.JoinTimeout), nil)
			}
		})
	}
}

// revoke closes the sockets of document doc that joined through token,
// which no longer opens it.
func (s *Server) revoke(doc, token string) {
	s.mu.Lock()
	var gone []*peer
	for p := range s.peers {
		if p.doc == doc && p.key == token {
			gone = append(gone, p)
		}
	}
	s.mu.Unlock()
	for _, p := range gone {
		s.refuse(p, wire.CodeLinkRevoked, "this link was revoked; ask for a new one", nil)
	}
}

var pongMsg = wire.Encode(&wire.Message{Type: wire.TypePong})

// inbound is a client message as received. Op and Sel stay raw so that a
// malformed op or selection gets its own error code rather than bad_message.
type inbound struct {
	Type   string          `json:"type"`
	Client string          `json:"client"`
	Secret string          `json:"secret"`
	Author string          `json:"author"`
	Name   string          `json:"name"`
	Color  string          `json:"color"`
	Rev    *int            `json:"rev"`
	Seq    *int            `json:"seq"`
	Op     json.RawMessage `json:"op"`
	Sel    json.RawMessage `json:"sel"`
}

// onMessage handles one text frame, on the session's reader goroutine.
func (s *Server) onMessage(ms *melody.Session, data []byte) {
	p := peerOf(ms)
	if p.isClosing() {
		return // the close frame is on its way; nothing more is read
	}
	if !s.pace(p) {
		return
	}
	if int64(len(data)) > s.cfg.MaxMessage {
		s.refuse(p, wire.CodeTooLarge, fmt.Sprintf("message of %d bytes; the limit is %d", len(data), s.cfg.MaxMessage), nil)
		return
	}
	var in inbound
	if err := json.Unmarshal(data, &in); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			s.refuse(p, wire.CodeBadJSON, "the message is not valid JSON: "+err.Error(), nil)
			return
		}
		s.refuse(p, wire.CodeBadMessage, "wrong message shape: "+err.Error(), nil)
		return
	}
	switch in.Type {
	case "":
		s.refuse(p, wire.CodeBadMessage, "missing type", nil)
	case wire.TypePing:
		// Answered here, not by the hub: it measures the connection, and
		// a busy document must not delay it.
		p.Send(pongMsg)
	case wire.TypeJoin:
		s.join(p, &in)
	case wire.TypeOp:
		if p.conn == nil {
			s.refuse(p, wire.CodeNotJoined, "send join first", in.Seq)
			return
		}
		s.op(p, &in)
	case wire.TypePresence:
		if p.conn == nil {
			s.refuse(p, wire.CodeNotJoined, "send join first", nil)
			return
		}
		sel, err := decodeSel(in.Sel)
		if err != nil {
			s.refuse(p, wire.CodeBadPresence, err.Error(), nil)
			return
		}
		p.conn.Presence(session.Cursor{Rev: in.Rev, Sel: sel})
	default:
		s.refuse(p, wire.CodeUnknownType, fmt.Sprintf("unknown message type %q", clipReason(in.Type)), nil)
	}
}

func (s *Server) join(p *peer, in *inbound) {
	if p.conn != nil {
		s.refuse(p, wire.CodeAlreadyJoined, "this socket has already joined", nil)
		return
	}
	if p.doc == "" {
		s.refuse(p, wire.CodeNotFound, "no such document, or the link was revoked", nil)
		return
	}
	msg := &wire.Message{Type: wire.TypeJoin, Name: in.Name, Color: in.Color, Rev: in.Rev, Author: in.Author}
	switch {
	case in.Client != "" && s.cfg.Legacy && in.Secret == "":
		// The sketch's join: the id as given (session.ParseJoin checks
		// its form), no secret.
		msg.Client = in.Client
	case in.Client != "":
		s.refuse(p, wire.CodeBadClient, "the server issues client ids: send no client, and the secret from joined when rejoining", nil)
		return
	case in.Secret == "":
		msg.Secret = newSecret()
	case !wire.ValidSecret(in.Secret):
		s.refuse(p, wire.CodeBadClient, "secret must match [A-Za-z0-9_-]{22,64}", nil)
		return
	default:
		msg.Secret = in.Secret
	}
	if msg.Client == "" {
		msg.Client = publicID(s.cfg.IdentityKey, p.doc, msg.Secret)
	}
	// The link decided the rights; the core checks them on every op.
	rights := session.Rights{Edit: p.role.canEdit()}
	conn, err := s.sessions.Join(p.doc, p, msg, rights)
	var serr *session.Error
	switch {
	case err == nil:
		p.conn = conn
		p.joined.Store(true)
		if msg.Author != "" {
			s.noteAuthor(p.doc, store.Author{ID: msg.Author, Name: conn.Name(), Color: conn.Color()})
		}
	case errors.As(err, &serr):
		s.refuse(p, serr.Code, serr.Message, nil)
	case errors.Is(err, session.ErrClosed):
		p.Close(wire.CloseGoingAway, "server shutting down")
	default:
		s.log.Error("join", "doc", p.doc, "err", err)
		s.refuse(p, wire.CodeInternal, "the server could not join the document", nil)
	}
}

// maxPace is the longest the reader waits for the rate limit before it
// reads the next message. The reader waits before each message, so a
// client sending faster than the rate is slowed (TCP pushes back) rather
// than refused; the wait stays below one message's share of the rate.
const maxPace = 2 * time.Second

// pace applies the per-socket message rate: it waits for the message's
// turn and reports true, or, if that would take longer than maxPace,
// refuses (rate_limited) and reports false.
func (s *Server) pace(p *peer) bool {
	r := p.lim.Reserve()
	d := r.Delay()
	if !r.OK() || d > maxPace {
		r.Cancel()
		s.refuse(p, wire.CodeRateLimited, "more than the allowed messages per second", nil)
		return false
	}
	if d > 0 {
		time.Sleep(d)
	}
	return true
}

// op forwards an op to the hub. The op field is decoded here, from the raw
// JSON, so that a lone surrogate escape is seen (encoding/json would turn it
// into U+FFFD). An op that fails to decode is refused at once, even if its
// seq was already applied: a resubmission repeats the op the client sent
// before, which decoded, so an undecodable one cannot be a resubmission. An
// absent op is left to the hub, which de-duplicates first and then refuses
// it (bad_op).
func (s *Server) op(p *peer, in *inbound) {
	var op ot.Op
	if len(in.Op) > 0 && !bytes.Equal(in.Op, []byte("null")) {
		if err := op.UnmarshalJSON(in.Op); err != nil {
			code := wire.CodeBadOp
			if errors.Is(err, ot.ErrInvalidUnicode) {
				code = wire.CodeInvalidUnicode
			}
			s.refuse(p, code, "bad op: "+err.Error(), in.Seq)
			return
		}
	}
	p.conn.Op(session.Submit{Rev: in.Rev, Seq: in.Seq, Op: op})
}

// decodeSel decodes a presence message's sel: absent or null gives nil
// (the hub refuses it), [] gives an empty selection (no cursor).
func decodeSel(raw json.RawMessage) ([]wire.Range, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var rs [][]*int // pointers: encoding/json reads null as 0 otherwise
	if err := json.Unmarshal(raw, &rs); err != nil {
		return nil, fmt.Errorf("sel must be a list of [anchor, head] integer pairs")
	}
	if len(rs) > wire.MaxRanges {
		return nil, fmt.Errorf("at most %d ranges", wire.MaxRanges)
	}
	sel := make([]wire.Range, len(rs))
	for i, r := range rs {
		if len(r) != 2 || r[0] == nil || r[1] == nil {
			return nil, fmt.Errorf("range %d must be [anchor, head]", i)
		}
		sel[i] = wire.Range{*r[0], *r[1]}
	}
	return sel, nil
}

// refuse sends an error message and, if the code calls for it, closes the
// socket with the matching close code (wire.CloseFor).
func (s *Server) refuse(p *peer, code, msg string, seq *int) {
	p.Send(wire.Encode(&wire.Message{Type: wire.TypeError, Code: code, Message: msg, Seq: seq}))
	if cc := wire.CloseFor(code); cc != 0 {
		p.Close(cc, msg)
	}
}
