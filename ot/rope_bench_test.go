package ot

import (
	"strings"
	"testing"
)

var ropeBenchSizes = []struct {
	name  string
	bytes int
	unit  string // repeated to fill the document
}{
	{"1KiB", 1 << 10, "lorem ipsum dolor sit amet, "},
	{"100KiB", 100 << 10, "lorem ipsum dolor sit amet, "},
	{"1MiB", 1 << 20, "lorem ipsum dolor sit amet, "},
	{"1MiB-CJK", 1 << 20, "中文字符的文档，"}, // non-ASCII chunks are scanned
}

func ropeBenchText(bytes int, unit string) string {
	return strings.Repeat(unit, bytes/len(unit)+1)[:bytes/len(unit)*len(unit)]
}

// ropeKeystroke returns an op typing one character in the middle of an n-unit
// text and the op deleting it again.
func ropeKeystroke(n int) (ins, del Op) {
	mid := n / 2
	ins.Retain(mid).Insert("x").Retain(n - mid)
	del.Retain(mid).Delete(1).Retain(n - mid)
	return ins, del
}

// BenchmarkDocApplyKeystroke measures one Doc.Apply of a one-character
// edit; iterations alternate insert and delete, so the size stays constant.
func BenchmarkDocApplyKeystroke(b *testing.B) {
	for _, sz := range ropeBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			text := ropeBenchText(sz.bytes, sz.unit)
			d := NewDoc(text)
			ins, del := ropeKeystroke(d.Len())
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				op := ins
				if i%2 == 1 {
					op = del
				}
				if err := d.Apply(op); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDocBaselineStringApplyKeystroke is the same edit through the
// package-level Apply on a plain string, for comparison.
func BenchmarkDocBaselineStringApplyKeystroke(b *testing.B) {
	for _, sz := range ropeBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			text := ropeBenchText(sz.bytes, sz.unit)
			ins, del := ropeKeystroke(Len(text))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				op := ins
				if i%2 == 1 {
					op = del
				}
				var err error
				if text, err = Apply(text, op); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDocClone(b *testing.B) {
	d := NewDoc(ropeBenchText(1<<20, "lorem ipsum dolor sit amet, "))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = d.Clone()
	}
}

func BenchmarkDocString(b *testing.B) {
	d := NewDoc(ropeBenchText(1<<20, "lorem ipsum dolor sit amet, "))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = d.String()
	}
}
