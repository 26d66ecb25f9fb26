package edittrace

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tandem-editor/tandem/ot"
)

// Patch is one recorded edit: at Pos, delete Del units, then insert Ins.
// Pos and Del count UTF-16 code units (equal to the trace's code points,
// see the package comment).
type Patch struct {
	Pos, Del int
	Ins      string
}

// Trace is a recorded editing session: applying Patches in order to Start
// gives End.
type Trace struct {
	Name       string
	Start, End string
	Patches    []Patch
}

// ErrAstral: the trace holds a character outside the Basic Multilingual
// Plane, where code points and UTF-16 units differ.
var ErrAstral = errors.New("trace has characters outside the BMP")

// Load reads a trace file in the editing-traces format (gzipped JSON:
// startContent, endContent, txns[].patches[] = [pos, del, ins]).
func Load(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var raw struct {
		StartContent string `json:"startContent"`
		EndContent   string `json:"endContent"`
		Txns         []struct {
			Patches [][3]any `json:"patches"` // [pos, del, ins]
		} `json:"txns"`
	}
	if err := json.NewDecoder(z).Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := &Trace{
		Name:  strings.TrimSuffix(filepath.Base(path), ".json.gz"),
		Start: raw.StartContent,
		End:   raw.EndContent,
	}
	if astral(t.Start) || astral(t.End) {
		return nil, fmt.Errorf("%s: %w", path, ErrAstral)
	}
	for i, tx := range raw.Txns {
		for _, r := range tx.Patches {
			pos, ok1 := r[0].(float64)
			del, ok2 := r[1].(float64)
			ins, ok3 := r[2].(string)
			p := Patch{Pos: int(pos), Del: int(del), Ins: ins}
			if !ok1 || !ok2 || !ok3 || p.Pos < 0 || p.Del < 0 || (p.Del == 0 && p.Ins == "") {
				return nil, fmt.Errorf("%s: txn %d: bad patch %v", path, i, r)
			}
			if astral(p.Ins) {
				return nil, fmt.Errorf("%s: txn %d: %w", path, i, ErrAstral)
			}
			t.Patches = append(t.Patches, p)
		}
	}
	return t, nil
}

// astral reports whether s holds a character that takes two UTF-16 units.
func astral(s string) bool {
	for _, r := range s {
		if r > 0xFFFF {
			return true
		}
	}
	return false
}

// Op returns p as an operation on a text of n units, built in buf's storage
// (buf[:0]) so that a replay loop allocates nothing for it.
func (p Patch) Op(buf ot.Op, n int) ot.Op {
	op := buf[:0]
	op.Retain(p.Pos).Insert(p.Ins).Delete(p.Del).Retain(n - p.Pos - p.Del)
	return op
}
