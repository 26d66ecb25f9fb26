package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tandem-editor/tandem/oplog"
)

// The live document list: GET /api/events?keys=k1,k2,… is a stream of
// server-sent events, one "doc" event per key at first and then whenever
// that key's document changes (renamed, edited, deleted or back, people
// arriving or leaving). The stream re-reads the keys only when something
// may have changed (a generation counter moved), at most every
// eventsPoll, so an idle server costs nothing per page.

const (
	eventsRoute   = "/api/events"
	maxEventKeys  = 200
	eventsPoll    = 250 * time.Millisecond
	eventsRefresh = 30 * time.Second // a comment line keeps proxies from idling the stream out
)

// docEvent is what a watcher learns about one key.
type docEvent struct {
	Key     string     `json:"key"`
	State   string     `json:"state"` // "ok", "deleted" (in the trash) or "gone" (unknown or revoked)
	Title   string     `json:"title,omitempty"`
	Rev     int        `json:"rev,omitempty"`
	Size    int        `json:"size,omitempty"`
	Updated *time.Time `json:"updated,omitempty"`
	Editors int        `json:"editors"`
	Role    string     `json:"role,omitempty"`
	Purge   *time.Time `json:"purge,omitempty"`
}

// changed notes that documents may have changed outside the sessions
// (renamed, deleted, undeleted, links reissued).
func (s *Server) changed() { s.gen.Add(1) }

// docChanged notes such a change to doc, made here, and tells the other
// processes (if the sessions span several; see Announcer). revokedToken,
// if not "", no longer opens the document: the sockets that came with it
// are closed, here and there.
func (s *Server) docChanged(doc, revokedToken string) {
	s.Remote(doc, revokedToken) // what another process's change does here
	if a, ok := s.sessions.(Announcer); ok {
		a.Announce(doc, revokedToken)
	}
}

// Remote applies a change that another process made to doc (see
// Announcer): its sockets that came with revokedToken (if not "") are
// closed with link_revoked, and the event streams look again.
func (s *Server) Remote(doc, revokedToken string) {
	if revokedToken != "" {
		s.revoke(doc, revokedToken)
	}
	s.changed()
}

func (s *Server) generation() uint64 { return s.gen.Load() + s.sessions.Generation() }

// GET /api/events?keys=… -> text/event-stream of doc events
func (s *Server) events(c echo.Context) error {
	r := c.Request()
	var keys []string
	for _, k := range strings.Split(c.QueryParam("keys"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) > maxEventKeys {
		return apiErrorf(codeBadRequest, "at most %d keys, not %d", maxEventKeys, len(keys))
	}
	// A stream holds a connection like a WebSocket: as many are allowed
	// per address, counted apart, so that a page's stream and its socket
	// do not compete.
	addr := s.clientAddr(r)
	if !s.limits.openStream(addr) {
		return tooMany(c, time.Second, fmt.Sprintf("more than %d event streams from your address", s.cfg.MaxSocketsPerAddr))
	}
	defer s.limits.closeStream(addr)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return apiErrorf(codeUnavailable, "the server is shutting down")
	}
	s.streams.Add(1)
	s.mu.Unlock()
	defer s.streams.Done()

	w := c.Response()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	last := make(map[string]docEvent, len(keys))
	var gen uint64
	first := true
	poll := time.NewTicker(eventsPoll)
	defer poll.Stop()
	keep := time.NewTicker(eventsRefresh)
	defer keep.Stop()
	for {
		if g := s.generation(); first || g != gen {
			gen, first = g, false
			for _, k := range keys {
				ev := s.docEvent(r, k)
				if old, ok := last[k]; ok && sameEvent(old, ev) {
					continue
				}
				last[k] = ev
				b, _ := json.Marshal(ev)
				rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteWait))
				if _, err := fmt.Fprintf(w, "event: doc\ndata: %s\n\n", b); err != nil {
					return nil
				}
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-s.stopStreams:
			return nil
		case <-keep.C:
			rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteWait))
			if _, err := fmt.Fprint(w, ": still here\n\n"); err != nil {
				return nil
			}
			rc.Flush()
		case <-poll.C:
		}
	}
}

func sameEvent(a, b docEvent) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// docEvent reads one key's state, with the rights of that key.
func (s *Server) docEvent(r *http.Request, key string) docEvent {
	a, err := s.resolve(r.Context(), r, key)
	switch {
	case errors.Is(err, oplog.ErrNotFound):
		return docEvent{Key: key, State: "gone"}
	case err != nil:
		return docEvent{Key: key, State: "gone"}
	case a.doc.InTrash():
		p := a.doc.Purge.UTC()
		return docEvent{Key: key, State: "deleted", Title: a.doc.Title, Role: a.role.String(), Purge: &p}
	}
	u := a.doc.Updated.UTC()
	return docEvent{Key: key, State: "ok", Title: a.doc.Title, Rev: a.doc.Rev, Size: a.doc.Size, Updated: &u,
		Editors: s.sessions.Editors(a.doc.ID), Role: a.role.String()}
}
