package ot_test

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tandem-editor/tandem/internal/edittrace"
	"github.com/tandem-editor/tandem/ot"
)

// The recorded editing traces in bench/traces (see its README), smallest
// first. Each patch is one op: one keystroke, or one step of a multi-cursor
// edit or a paste.
var traceNames = []string{
	"sveltecomponent",     //  19,749 patches, 18 K final
	"clownschool_flat",    //  23,182 patches, 21 K final, two typists
	"friendsforever_flat", //  26,078 patches, 21 K final, two typists
	"rustcode",            //  40,173 patches, 65 K final
	"seph-blog1",          // 137,993 patches, 57 K final
	"automerge-paper",     // 259,778 patches, 105 K final
}

func loadTrace(tb testing.TB, name string) *edittrace.Trace {
	tb.Helper()
	t, err := edittrace.Load(filepath.Join("..", "bench", "traces", name+".json.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// replayDoc applies every patch of t to a Doc, one op per patch.
func replayDoc(t *edittrace.Trace) (*ot.Doc, error) {
	d := ot.NewDoc(t.Start)
	var buf ot.Op
	for _, p := range t.Patches {
		buf = p.Op(buf, d.Len())
		if err := d.Apply(buf); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// TestDocReplaysTraces replays real editing sessions keystroke by keystroke
// and checks the recorded final text: chunks split, merge and get edited in
// place tens of thousands of times at the positions people really type at.
// The largest traces are skipped with -short.
func TestDocReplaysTraces(t *testing.T) {
	for i, name := range traceNames {
		if testing.Short() && i >= 3 {
			break
		}
		t.Run(name, func(t *testing.T) {
			tr := loadTrace(t, name)
			d, err := replayDoc(tr)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.String(); got != tr.End {
				t.Fatalf("final text: got %d units, want %d (texts differ)", d.Len(), ot.Len(tr.End))
			}
			if got, want := d.Len(), ot.Len(tr.End); got != want {
				t.Fatalf("Len: got %d, want %d", got, want)
			}
		})
	}
}

// BenchmarkDocTrace replays each trace through Doc.Apply, one op per
// keystroke, building each op from the recorded patch as it goes (as a
// server decodes each op it applies). ns/keystroke is the figure to compare
// with ot.js (bench/traces/bench-otjs.js).
func BenchmarkDocTrace(b *testing.B) {
	for _, name := range traceNames {
		b.Run(name, func(b *testing.B) {
			tr := loadTrace(b, name)
			benchKeystrokes(b, len(tr.Patches), func() {
				d, err := replayDoc(tr)
				if err != nil {
					b.Fatal(err)
				}
				if d.Len() != ot.Len(tr.End) {
					b.Fatalf("final length %d, want %d", d.Len(), ot.Len(tr.End))
				}
			})
			d, _ := replayDoc(tr)
			if d.String() != tr.End {
				b.Fatal("final text differs from the trace's")
			}
		})
	}
}

// BenchmarkDocTraceFreshOps is BenchmarkDocTrace on the largest trace with
// a newly allocated op per keystroke, as ot.js builds one (and as a server
// decodes one), rather than one reused buffer.
func BenchmarkDocTraceFreshOps(b *testing.B) {
	tr := loadTrace(b, "automerge-paper")
	benchKeystrokes(b, len(tr.Patches), func() {
		d := ot.NewDoc(tr.Start)
		for _, p := range tr.Patches {
			if err := d.Apply(p.Op(nil, d.Len())); err != nil {
				b.Fatal(err)
			}
		}
		if d.Len() != ot.Len(tr.End) {
			b.Fatalf("final length %d, want %d", d.Len(), ot.Len(tr.End))
		}
	})
}

// BenchmarkStringTrace is the same replay with the package-level Apply on a
// plain string (what ot.js does), for comparison.
func BenchmarkStringTrace(b *testing.B) {
	for _, name := range traceNames {
		b.Run(name, func(b *testing.B) {
			tr := loadTrace(b, name)
			benchKeystrokes(b, len(tr.Patches), func() {
				text := tr.Start
				var buf ot.Op
				for _, p := range tr.Patches {
					buf = p.Op(buf, ot.Len(text))
					var err error
					if text, err = ot.Apply(text, buf); err != nil {
						b.Fatal(err)
					}
				}
				if text != tr.End {
					b.Fatal("final text differs from the trace's")
				}
			})
		})
	}
}

// benchKeystrokes runs replay b.N times and reports per keystroke: wall
// time, process CPU time (the garbage collector's included; what to compare
// on a loaded machine), allocations and bytes.
func benchKeystrokes(b *testing.B, keystrokes int, replay func()) {
	var before, after runtime.MemStats
	runtime.GC() // the loaded trace's garbage is not the replay's
	runtime.ReadMemStats(&before)
	cpu := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		replay()
	}
	b.StopTimer()
	cpu = processCPU() - cpu
	runtime.ReadMemStats(&after)
	k := float64(b.N * keystrokes)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/k, "ns/keystroke")
	b.ReportMetric(float64(cpu.Nanoseconds())/k, "cpu-ns/keystroke")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/k, "allocs/keystroke")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/k, "B/keystroke")
	b.ReportMetric(float64(keystrokes), "keystrokes")
}
