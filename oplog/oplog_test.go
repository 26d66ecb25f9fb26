package oplog

import (
	"errors"
	"strings"
	"testing"

	"github.com/tandem-editor/tandem/ot"
)

func entry(t *testing.T, rev int, js string) Entry {
	t.Helper()
	var op ot.Op
	if err := op.UnmarshalJSON([]byte(js)); err != nil {
		t.Fatalf("op %s: %v", js, err)
	}
	return Entry{Rev: rev, Op: op}
}

func TestReplay(t *testing.T) {
	cases := []struct {
		name    string
		entries []string // ops of revisions 4, 5, … unless a test says otherwise
		revs    []int
		text    string // the text after replaying (up to the failing entry)
		rev     int
		err     string
	}{
		{"nothing to replay", nil, nil, "ab", 3, ""},
		{"consecutive ops", []string{`[2,"c"]`, `["x",3]`}, []int{4, 5}, "xabc", 5, ""},
		{"a gap in the log", []string{`[2,"c"]`, `["x",3]`}, []int{4, 6}, "abc", 4, "jumps from revision 4 to 6"},
		{"an op that does not fit stops the replay", []string{`[2,"c"]`, `[9,"x"]`}, []int{4, 5}, "abc", 4, "replay revision 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var es []Entry
			for i, js := range tc.entries {
				es = append(es, entry(t, tc.revs[i], js))
			}
			doc := ot.NewDoc("ab")
			rev, err := Replay(doc, 3, es)
			if got := doc.String(); got != tc.text || rev != tc.rev {
				t.Errorf("got %q at %d, want %q at %d", got, rev, tc.text, tc.rev)
			}
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("error %v, want one saying %q", err, tc.err)
			}
		})
	}
	// A refused op keeps the engine's error in the chain.
	_, err := Replay(ot.NewDoc("ab"), 0, []Entry{entry(t, 1, `[9,"x"]`)})
	if !errors.Is(err, ot.ErrBaseLength) {
		t.Errorf("error %v, want it to wrap ot.ErrBaseLength", err)
	}
}
