package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-editor/tandem/ot"
	"github.com/tandem-editor/tandem/session"
)

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return res.StatusCode, out
}

// A restore while nobody types brings back the text exactly; a restore
// while three clients type (with random delays and reconnects) is one op
// among theirs: everyone converges on the server's text, and the log holds
// the restore as the server's op.
func TestRestoreWhileOthersType(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := startServer(t, "", session.Config{})
	id := createDoc(t, s.ts.URL)
	const n = 3
	cs := make([]*Client, n)
	for i := range cs {
		cs[i] = dial(t, ctx, Config{URL: s.ts.URL, Doc: id, Name: fmt.Sprintf("typist %d", i)})
	}
	if err := cs[0].Submit(ot.Op{ot.Insert("the first version, with 😀 and 中文")}); err != nil {
		t.Fatal(err)
	}
	first := waitConverged(t, ctx, s.ts.URL, id, cs...)
	if err := cs[1].Edit(func(text string) ot.Op {
		var op ot.Op
		return *op.Delete(ot.Len(text)).Insert("something else entirely")
	}); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, ctx, s.ts.URL, id, cs...)

	// Quiet: the text at the old revision, exactly.
	code, out := postJSON(t, s.ts.URL+"/api/docs/"+id+"/restore", fmt.Sprintf(`{"rev":%d}`, first.Rev))
	if code != http.StatusOK {
		t.Fatalf("restore: %d %v", code, out)
	}
	d := waitConverged(t, ctx, s.ts.URL, id, cs...)
	if d.Text != first.Text || int(out["rev"].(float64)) != d.Rev {
		t.Fatalf("after a quiet restore: %q at %d (answer %v), want %q", d.Text, d.Rev, out, first.Text)
	}

	// Busy: restores while everyone types.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i, c := range cs {
		wg.Add(1)
		go func() { // ends when stop closes or the deadline passes
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			for k := 0; ctx.Err() == nil; k++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := c.Edit(func(text string) ot.Op { return randOp(r, text) }); err != nil {
					t.Errorf("client %d: edit %d: %v", i, k, err)
					return
				}
				if r.IntN(30) == 0 {
					c.Disconnect()
				}
				time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
			}
		}()
	}
	restores := 0
	for k := range 5 {
		time.Sleep(50 * time.Millisecond)
		code, out := postJSON(t, s.ts.URL+"/api/docs/"+id+"/restore", fmt.Sprintf(`{"rev":%d,"author":"restorer"}`, first.Rev+k))
		if code != http.StatusOK {
			t.Fatalf("restore %d while typing: %d %v", k, code, out)
		}
		restores++
	}
	close(stop)
	wg.Wait()
	d = waitConverged(t, ctx, s.ts.URL, id, cs...)
	log := getLog(t, s.ts.URL, id)
	want := seqs(cs...)
	want[session.ServerClient] = restores + 1
	checkLog(t, log, d.Text, want)
}

// Edits over HTTP interleave with edits over WebSockets: each is an op in
// the one order, and the clients see them live.
func TestHTTPEditsInterleaveWithSocketEdits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := startServer(t, "", session.Config{})
	id := createDoc(t, s.ts.URL)
	a := dial(t, ctx, Config{URL: s.ts.URL, Doc: id, Name: "a"})
	b := dial(t, ctx, Config{URL: s.ts.URL, Doc: id, Name: "b"})
	var wg sync.WaitGroup
	wg.Add(2)
	for _, c := range []*Client{a, b} {
		go func() { // ends after 100 edits
			defer wg.Done()
			r := rand.New(rand.NewPCG(7, uint64(len(c.Text()))))
			for range 100 {
				if err := c.Edit(func(text string) ot.Op { return randOp(r, text) }); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for k := range 30 {
		var body string
		switch k % 3 {
		case 0:
			body = `{"append":"+"}`
		case 1:
			body = `{"insert":{"at":0,"text":"^"},"rev":0}` // at revision 0: transformed past everything since
		default:
			body = `{"replace":{"from":0,"to":0,"text":"<"}}`
		}
		if code, out := postJSON(t, s.ts.URL+"/api/docs/"+id+"/edit", body); code != http.StatusOK {
			t.Fatalf("edit %s: %d %v", body, code, out)
		}
	}
	wg.Wait()
	d := waitConverged(t, ctx, s.ts.URL, id, a, b)
	if strings.Count(d.Text, "+") < 10 || strings.Count(d.Text, "^") < 10 || strings.Count(d.Text, "<") < 10 {
		t.Fatalf("the HTTP edits are not all in %q", d.Text)
	}
	checkLog(t, getLog(t, s.ts.URL, id), d.Text, map[string]int{session.ServerClient: 30, a.ID(): a.Seq(), b.ID(): b.Seq()})
	// Setting the whole text.
	if code, out := postJSON(t, s.ts.URL+"/api/docs/"+id+"/edit", `{"text":"all new 😀"}`); code != http.StatusOK {
		t.Fatalf("set text: %d %v", code, out)
	}
	if d := waitConverged(t, ctx, s.ts.URL, id, a, b); d.Text != "all new 😀" {
		t.Fatalf("after setting the text: %q", d.Text)
	}
	// Refusals: a range outside the text, a position inside a pair.
	for _, body := range []string{`{"replace":{"from":0,"to":99,"text":""}}`, `{"insert":{"at":9,"text":"x"}}`, `{}`, `{"append":"a","text":"b"}`} {
		if code, _ := postJSON(t, s.ts.URL+"/api/docs/"+id+"/edit", body); code != http.StatusBadRequest {
			t.Errorf("edit %s: %d, want 400", body, code)
		}
	}
}
