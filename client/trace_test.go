package client

import (
	"path/filepath"
	"testing"

	"github.com/tandem-editor/tandem/internal/edittrace"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

func loadTrace(tb testing.TB, name string) *edittrace.Trace {
	tb.Helper()
	t, err := edittrace.Load(filepath.Join("..", "bench", "traces", name+".json.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// joinedMachine returns a Machine joined to a document holding text at
// revision 0, with the messages a server would send.
func joinedMachine(tb testing.TB, text string) *Machine {
	tb.Helper()
	m := NewMachine("", "bench", "#000000")
	m.Join()
	for _, msg := range []*wire.Message{
		{Type: wire.TypeSnapshot, Rev: wire.IntPtr(0), Text: &text},
		{Type: wire.TypeJoined, Rev: wire.IntPtr(0), Seq: wire.IntPtr(0), Client: "me", Secret: "0123456789abcdefghijklmnop"},
	} {
		if _, err := m.Receive(msg); err != nil {
			tb.Fatal(err)
		}
	}
	return m
}

// replayLocal types every patch of tr into m as a local edit; the server
// acknowledges each op as soon as it is sent (a closed loop with a fast
// server), so every edit goes Synchronized → AwaitingConfirm → back.
func replayLocal(tb testing.TB, m *Machine, tr *edittrace.Trace) {
	n := ot.Len(tr.Start)
	for _, p := range tr.Patches {
		op := p.Op(nil, n) // a fresh op: the Machine keeps it as the op in flight
		if err := m.Edit(op); err != nil {
			tb.Fatal(err)
		}
		n += ot.Len(p.Ins) - p.Del
		for _, msg := range m.Outbox() {
			if msg.Type != wire.TypeOp {
				continue
			}
			ack := &wire.Message{Type: wire.TypeAck, Seq: msg.Seq, Rev: wire.IntPtr(*msg.Rev + 1)}
			if _, err := m.Receive(ack); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// replayRemote feeds every patch of tr to m as another client's op.
func replayRemote(tb testing.TB, m *Machine, tr *edittrace.Trace) {
	n := ot.Len(tr.Start)
	for i, p := range tr.Patches {
		msg := &wire.Message{Type: wire.TypeOp, Rev: wire.IntPtr(i + 1), Client: "other", Seq: wire.IntPtr(i + 1), Op: p.Op(nil, n)}
		if _, err := m.Receive(msg); err != nil {
			tb.Fatal(err)
		}
		n += ot.Len(p.Ins) - p.Del
	}
}

// TestMachineReplaysTrace replays a recorded editing session through a
// Machine, as local edits and as remote ops, and checks the final text.
func TestMachineReplaysTrace(t *testing.T) {
	tr := loadTrace(t, "friendsforever_flat")
	m := joinedMachine(t, tr.Start)
	replayLocal(t, m, tr)
	if got := m.Text(); got != tr.End {
		t.Fatalf("local replay: got %d units, want %d (texts differ)", ot.Len(got), ot.Len(tr.End))
	}
	if !m.Synced() || m.Rev() != len(tr.Patches) {
		t.Fatalf("local replay: synced %v at revision %d, want synced at %d", m.Synced(), m.Rev(), len(tr.Patches))
	}
	m = joinedMachine(t, tr.Start)
	replayRemote(t, m, tr)
	if got := m.Text(); got != tr.End {
		t.Fatalf("remote replay: got %d units, want %d (texts differ)", ot.Len(got), ot.Len(tr.End))
	}
}

// BenchmarkMachineTrace replays automerge-paper (259,778 keystrokes)
// through a Machine and reports keystrokes per second: "local" types each
// patch and has it acknowledged at once, "remote" receives each patch as
// another client's op.
func BenchmarkMachineTrace(b *testing.B) {
	tr := loadTrace(b, "automerge-paper")
	for _, bc := range []struct {
		name   string
		replay func(testing.TB, *Machine, *edittrace.Trace)
	}{{"local", replayLocal}, {"remote", replayRemote}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				m := joinedMachine(b, tr.Start)
				bc.replay(b, m, tr)
				if i == 0 && m.Text() != tr.End {
					b.Fatal("final text differs from the trace's")
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N*len(tr.Patches))/sec, "keystrokes/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(tr.Patches)), "ns/keystroke")
		})
	}
}
