package session

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/wire"
)

// The cost to the hub of an op based far behind the current revision: the
// Core's work for one Submit, driven directly as the hub drives it
// (Tick, requests, Ready).

const (
	benchBaseLen = 20000 // the text's length at revision 0
	benchBehind  = 300   // ops in the window after the submitted op's base
)

// benchCore returns a Core whose window holds benchBehind ops after
// revision 0, each typing one "b" at a random place: the text at revision
// r is benchBaseLen+r units long.
func benchCore(b *testing.B) *Core {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	entries := make([]oplog.Entry, benchBehind)
	for i := range entries {
		n := benchBaseLen + i
		p := rng.IntN(n + 1)
		var op ot.Op
		op.Retain(p).Insert("b").Retain(n - p)
		entries[i] = oplog.Entry{Rev: i + 1, Op: op, Client: "w", Seq: i + 1}
	}
	// No snapshot during the benchmark: it would time a copy of the text.
	c, err := NewCore(Config{SnapshotEvery: 1 << 30}, 0, strings.Repeat("a", benchBaseLen), entries, nil)
	if err != nil {
		b.Fatal(err)
	}
	c.Tick(time.Unix(1e9, 0))
	return c
}

// BenchmarkLargestOpFarBehind submits an op of wire.MaxOpComponents
// components based benchBehind revisions back. Transforming it would take
// about MaxOpComponents × benchBehind component steps, more than
// Config.MaxTransform: the Core refuses it as stale (close 4001) after at
// most MaxTransform steps. Each iteration joins a fresh connection (the
// refusal closes the previous one), submits, and takes the Ready.
func BenchmarkLargestOpFarBehind(b *testing.B) {
	c := benchCore(b)
	var op ot.Op
	for range (wire.MaxOpComponents - 2) / 2 {
		op.Retain(1).Insert("y")
	}
	op.Retain(benchBaseLen - (wire.MaxOpComponents-2)/2).Insert("z")
	if len(op) != wire.MaxOpComponents || op.BaseLen() != benchBaseLen {
		b.Fatalf("op has %d components on %d units, want %d on %d", len(op), op.BaseLen(), wire.MaxOpComponents, benchBaseLen)
	}
	// The steps the Core takes before it gives up, by its own rule.
	steps, limit := 0, c.cfg.MaxTransform
	for _, r := range c.window(0) {
		if steps+len(op)+len(r.Op) > limit {
			break
		}
		steps += len(op) + len(r.Op)
	}
	id := PeerID(0)
	b.ReportAllocs()
	for b.Loop() {
		id++
		c.Join(id, JoinRequest{Client: "far", Name: "far", Color: "#123", Rev: c.Rev(), Rights: Rights{Edit: true}})
		c.Ready()
		c.Submit(id, Submit{Seq: wire.IntPtr(1), Rev: wire.IntPtr(0), Op: op})
		rd := c.Ready()
		if len(rd.Entries) != 0 || len(rd.Closes) != 1 || rd.Closes[0].Code != wire.CloseTooSlow {
			b.Fatalf("got %d entries and closes %+v, want the op refused with close %d", len(rd.Entries), rd.Closes, wire.CloseTooSlow)
		}
	}
	b.ReportMetric(float64(steps), "steps/op")
}

// BenchmarkHonestOpFarBehind submits a keystroke (3 components) based
// benchBehind revisions back: it is transformed past them and applied.
// Every iteration adds a revision, so the base moves with the current one.
func BenchmarkHonestOpFarBehind(b *testing.B) {
	c := benchCore(b)
	c.Join(1, JoinRequest{Client: "honest", Name: "honest", Color: "#123", Rev: c.Rev(), Rights: Rights{Edit: true}})
	c.Ready()
	rng := rand.New(rand.NewPCG(3, 4))
	seq := 0
	b.ReportAllocs()
	for b.Loop() {
		seq++
		base := c.Rev() - benchBehind
		n := benchBaseLen + base
		p := rng.IntN(n + 1)
		var op ot.Op
		op.Retain(p).Insert("h").Retain(n - p)
		c.Submit(1, Submit{Seq: wire.IntPtr(seq), Rev: wire.IntPtr(base), Op: op})
		rd := c.Ready()
		if len(rd.Entries) != 1 {
			b.Fatalf("got %d entries, want the op applied (messages %d)", len(rd.Entries), len(rd.Messages))
		}
	}
}
