package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

// The protocol scripts in testdata/protocol are shared with the browser
// client, whose runner is frontend/test/protocol.test.js; the format is in
// testdata/protocol/README.md.
const scriptDir = "../testdata/protocol"

func scripts(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(scriptDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 10 {
		t.Fatalf("got %d scripts in %s, want at least 10", len(paths), scriptDir)
	}
	out := make(map[string]string, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = string(b)
	}
	return out
}

// TestProtocolScripts runs every script against a Machine.
func TestProtocolScripts(t *testing.T) {
	for name, src := range scripts(t) {
		t.Run(name, func(t *testing.T) {
			if err := runScript(src, resendSameSeq); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestProtocolScriptsCatchAWrongResendRule runs the scripts against
// Machines that resend the op in flight wrongly after a rejoin: some script
// that passes with the protocol's rule must fail, or the scripts do not
// check the rule.
func TestProtocolScriptsCatchAWrongResendRule(t *testing.T) {
	all := scripts(t)
	for _, rule := range []struct {
		name string
		rule resendRule
	}{{"a fresh seq", resendFreshSeq}, {"the op and revision first sent", resendOldRev}} {
		var caught []string
		for name, src := range all {
			if runScript(src, resendSameSeq) == nil && runScript(src, rule.rule) != nil {
				caught = append(caught, name)
			}
		}
		if len(caught) == 0 {
			t.Errorf("resend with %s: got every script passing, want at least one to fail", rule.name)
		} else {
			t.Logf("resend with %s: %d scripts fail: %v", rule.name, len(caught), caught)
		}
	}
}

// scriptRun is one run of a script: the Machine, what it sent that the
// script has not yet matched, and what the last step reported.
type scriptRun struct {
	m      *Machine
	sent   [][]byte
	remote ot.Op // the op the last received op applied locally; nil for none
	lost   ot.Op // what the last snapshot or resync dropped; nil for none
}

func runScript(src string, rule resendRule) error {
	var r scriptRun
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cmd, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		if r.m == nil && cmd != "client" {
			return fmt.Errorf("line %d: %q before the client line", i+1, cmd)
		}
		if err := r.step(cmd, arg, rule); err != nil {
			return fmt.Errorf("line %d: %s: %w", i+1, line, err)
		}
	}
	if len(r.sent) > 0 {
		return fmt.Errorf("at the end: the client sent %s, which the script does not expect", r.sent[0])
	}
	return nil
}

// input reports whether cmd is something done to the client (as opposed
// to a check): before one, everything the client sent must be matched.
func input(cmd string) bool {
	switch cmd {
	case "connect", "disconnect", "close", "edit", "select", "recv", "refuse":
		return true
	}
	return false
}

func (r *scriptRun) step(cmd, arg string, rule resendRule) error {
	if input(cmd) && len(r.sent) > 0 {
		return fmt.Errorf("the client sent %s, which the script does not expect", r.sent[0])
	}
	m := r.m
	switch cmd {
	case "client":
		f := strings.Fields(arg)
		if len(f) != 2 {
			return errors.New("want: client NAME COLOR")
		}
		r.m = NewMachine("", f[0], f[1])
		r.m.resend = rule
		return nil
	case "connect":
		r.push(m.Join())
		return nil
	case "disconnect":
		m.Disconnected()
		return nil
	case "close":
		f := strings.Fields(arg)
		if len(f) != 2 {
			return errors.New("want: close CODE ACTION")
		}
		code, err := strconv.Atoi(f[0])
		if err != nil {
			return err
		}
		act, lost, ok := m.Closed(code)
		r.lost = nil
		if ok {
			r.lost = lost
		}
		if act != wire.Action(f[1]) {
			return fmt.Errorf("got action %s, want %s", act, f[1])
		}
		return nil
	case "edit":
		var op ot.Op
		if err := json.Unmarshal([]byte(arg), &op); err != nil {
			return err
		}
		if err := m.Edit(op); err != nil {
			return err
		}
		r.pushOutbox()
		return nil
	case "select":
		var sel []wire.Range
		if err := json.Unmarshal([]byte(arg), &sel); err != nil {
			return err
		}
		ranges := make([]ot.Range, len(sel))
		for i, s := range sel {
			ranges[i] = ot.Range{Anchor: s[0], Head: s[1]}
		}
		if err := m.SetSelection(ranges); err != nil {
			return err
		}
		r.pushOutbox()
		return nil
	case "recv", "refuse":
		var msg wire.Message
		if err := json.Unmarshal([]byte(arg), &msg); err != nil {
			return err
		}
		before, beforeText := *m, m.Text() // the copy shares the rope: keep the text as a string
		ev, err := m.Receive(&msg)
		if cmd == "refuse" {
			if !errors.Is(err, ErrProtocol) {
				return fmt.Errorf("got %v, want a protocol error", err)
			}
			if m.Text() != beforeText || m.rev != before.rev || m.phase != before.phase || m.flightSeq != before.flightSeq {
				return fmt.Errorf("got text %q rev %d %v after the refusal, want it unchanged: %q rev %d %v",
					m.Text(), m.rev, m.phase, beforeText, before.rev, before.phase)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if msg.Type == wire.TypeOp {
			r.remote = nil
			if ev.Remote {
				r.remote = ev.Op
			}
		}
		if msg.Type == wire.TypeSnapshot {
			r.lost = nil
			if ev.Lost {
				r.lost = ev.LostOp
			}
		}
		r.pushOutbox()
		return nil
	case "send":
		if len(r.sent) == 0 {
			return errors.New("got nothing sent")
		}
		got := r.sent[0]
		r.sent = r.sent[1:]
		return sameJSON(got, []byte(arg))
	case "text":
		var want string
		if err := json.Unmarshal([]byte(arg), &want); err != nil {
			return err
		}
		if m.Text() != want {
			return fmt.Errorf("got text %q, want %q", m.Text(), want)
		}
		return nil
	case "rev":
		if got := strconv.Itoa(m.Rev()); got != arg {
			return fmt.Errorf("got rev %s, want %s", got, arg)
		}
		return nil
	case "state":
		got := map[Phase]string{Synchronized: "synchronized", AwaitingConfirm: "awaiting-confirm", AwaitingWithBuffer: "awaiting-with-buffer"}[m.Phase()]
		if got != arg {
			return fmt.Errorf("got state %s, want %s", got, arg)
		}
		return nil
	case "remote":
		return sameOrNone("remote op", opOrNil(r.remote), arg)
	case "lost":
		return sameOrNone("lost op", opOrNil(r.lost), arg)
	case "peer":
		id, want, _ := strings.Cut(arg, " ")
		p, ok := m.Peers()[id]
		if !ok {
			return sameOrNone("peer "+id, nil, want)
		}
		sel := make([]wire.Range, len(p.Sel))
		for i, s := range p.Sel {
			sel[i] = wire.Range{s.Anchor, s.Head}
		}
		return sameOrNone("peer "+id, sel, want)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

func (r *scriptRun) push(msg *wire.Message) {
	r.sent = append(r.sent, wire.Encode(msg))
}

func (r *scriptRun) pushOutbox() {
	for _, msg := range r.m.Outbox() {
		r.push(msg)
	}
}

func opOrNil(op ot.Op) any {
	if op == nil {
		return nil
	}
	return op
}

// sameOrNone compares v, encoded, with the JSON want, or checks that v is
// absent (nil) when want is "none".
func sameOrNone(what string, v any, want string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if want == "none" {
		if !bytes.Equal(b, []byte("null")) {
			return fmt.Errorf("got %s %s, want none", what, b)
		}
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		return fmt.Errorf("got no %s, want %s", what, want)
	}
	if err := sameJSON(b, []byte(want)); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// sameJSON compares two JSON texts decoded, not as bytes.
func sameJSON(got, want []byte) error {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Errorf("got %s: %w", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return fmt.Errorf("want %s: %w", want, err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		return fmt.Errorf("got %s, want %s (-want +got):\n%s", got, want, diff)
	}
	return nil
}
