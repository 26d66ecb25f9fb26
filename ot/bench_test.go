package ot_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tandem-editor/tandem/ot"
)

// benchText returns about n bytes of mixed text (ASCII, accents, CJK, an
// emoji now and then), like a real document.
func benchText(n int) string {
	const line = "The quick brown fox — café, 中文字, naïve 😀 jumps over the lazy dog.\n"
	return strings.Repeat(line, n/len(line)+1)[:n-n%len(line)]
}

// keystroke returns the op that types s at unit position pos of a text of
// length n.
func keystroke(pos, n int, s string) ot.Op {
	var op ot.Op
	op.Retain(pos).Insert(s).Retain(n - pos)
	return op
}

func backspace(pos, n int) ot.Op {
	var op ot.Op
	op.Retain(pos - 1).Delete(1).Retain(n - pos)
	return op
}

func BenchmarkTransformKeystroke(b *testing.B) {
	n := ot.Len(benchText(1024))
	x, y := keystroke(300, n, "a"), keystroke(700, n, "b")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ot.Transform(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRebaseKeystroke(b *testing.B) {
	n := ot.Len(benchText(1024))
	x, y := keystroke(300, n, "a"), keystroke(700, n, "b")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ot.Rebase(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTransformKeystrokeAgainstBackspace(b *testing.B) {
	n := ot.Len(benchText(1024))
	x, y := keystroke(300, n, "a"), backspace(301, n)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ot.Transform(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkComposeKeystrokes(b *testing.B) {
	n := ot.Len(benchText(1024))
	x := keystroke(300, n, "a")
	y := keystroke(301, n+1, "b") // typing on after the first key
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ot.Compose(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransformAgainstHistory is the server's work for an op made
// 1,000 revisions ago: transform it against each op applied since. The
// Rebase variant is what the hub runs (it needs only a′).
func BenchmarkTransformAgainstHistory(b *testing.B) {
	b.Run("Transform", func(b *testing.B) {
		benchAgainstHistory(b, func(op, applied ot.Op) (ot.Op, error) {
			p, _, err := ot.Transform(op, applied)
			return p, err
		})
	})
	b.Run("Rebase", func(b *testing.B) { benchAgainstHistory(b, ot.Rebase) })
}

func benchAgainstHistory(b *testing.B, transform func(op, applied ot.Op) (ot.Op, error)) {
	n := ot.Len(benchText(1024))
	history := make([]ot.Op, 1000)
	for i := range history {
		// Other clients typing and deleting around the document.
		pos := (i * 37) % n
		if i%4 == 3 && pos > 0 {
			history[i] = backspace(pos, n)
			n--
		} else {
			history[i] = keystroke(pos, n, "x")
			n++
		}
	}
	incoming := keystroke(512, history[0].BaseLen(), "a")
	b.ReportAllocs()
	for b.Loop() {
		op := incoming
		for _, applied := range history {
			var err error
			if op, err = transform(op, applied); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkDecodeKeystroke(b *testing.B) {
	data := []byte(`[512,"a",511]`)
	b.ReportAllocs()
	for b.Loop() {
		var op ot.Op
		if err := json.Unmarshal(data, &op); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeKeystroke(b *testing.B) {
	op := keystroke(512, 1023, "a")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(op); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyString(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1KiB", 1 << 10}, {"100KiB", 100 << 10}, {"1MiB", 1 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			doc := benchText(size.n)
			n := ot.Len(doc)
			pos := n / 2
			if insidePair(units(doc), pos) {
				pos++ // type between characters, not inside an emoji
			}
			op := keystroke(pos, n, "a")
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ot.Apply(doc, op); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
