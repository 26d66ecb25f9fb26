// Command tandem-load is a load generator for a Tandem server: it creates
// documents, connects simulated editors to each (package client), has every
// editor type in a closed loop (edit, wait for the acknowledgement, pause)
// and reports throughput and acknowledgement latency. At the end it checks
// that every editor of a document holds the server's text.
//
// It only targets loopback addresses. Run the server with a rate limit
// high enough for the load, e.g.:
//
//	go run . -data /tmp/tandem-load -rate -1 &
//	go run ./cmd/tandem-load -docs 20 -editors 5 -duration 20s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tandem-editor/tandem/client"
	"github.com/tandem-editor/tandem/ot"
)

func main() {
	var (
		base     = flag.String("url", "http://127.0.0.1:8080", "server base URL (loopback only)")
		docs     = flag.Int("docs", 10, "documents to create")
		editors  = flag.Int("editors", 5, "editors per document")
		duration = flag.Duration("duration", 10*time.Second, "how long to type (at most 5m)")
		pause    = flag.Duration("pause", 0, "pause between an acknowledgement and the next edit (0: closed loop at full speed)")
		seed     = flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	)
	flag.Parse()
	if err := run(*base, *docs, *editors, *duration, *pause, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "tandem-load:", err)
		os.Exit(1)
	}
}

func run(base string, docs, editors int, duration, pause time.Duration, seed uint64) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		return fmt.Errorf("refusing to load %s: only loopback addresses may be targeted", u.Host)
	}
	if docs < 1 || editors < 1 || docs*editors > 10000 {
		return errors.New("need 1 <= docs*editors <= 10000")
	}
	duration = min(duration, 5*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), duration+time.Minute)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)

	ids := make([]string, docs)
	for i := range ids {
		if ids[i], err = createDoc(base, fmt.Sprintf("load %d", i)); err != nil {
			return err
		}
	}
	var clients [][]*client.Client
	for _, id := range ids {
		var cs []*client.Client
		for j := range editors {
			c, err := client.Dial(ctx, client.Config{URL: base, Doc: id, Name: fmt.Sprintf("load %d", j), Logger: quiet})
			if err != nil {
				return fmt.Errorf("connect editor %d of %s: %w", j, id, err)
			}
			defer c.Close()
			cs = append(cs, c)
		}
		clients = append(clients, cs)
	}
	fmt.Printf("%d documents × %d editors connected; typing for %v\n", docs, editors, duration)

	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
	)
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for d, cs := range clients {
		for j, c := range cs {
			rng := rand.New(rand.NewPCG(seed, uint64(d*editors+j)))
			wg.Add(1)
			go func() { // ends at the deadline or on the first failure
				defer wg.Done()
				var mine []time.Duration
				defer func() {
					mu.Lock()
					latencies = append(latencies, mine...)
					mu.Unlock()
				}()
				for time.Now().Before(deadline) {
					t0 := time.Now()
					if err := c.Edit(func(text string) ot.Op { return randomEdit(rng, text) }); err != nil {
						mu.Lock()
						failures++
						mu.Unlock()
						return
					}
					if err := c.WaitSynced(ctx); err != nil {
						mu.Lock()
						failures++
						mu.Unlock()
						return
					}
					mine = append(mine, time.Since(t0))
					if pause > 0 {
						time.Sleep(pause)
					}
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	// Convergence: every editor holds the server's text.
	diverged := 0
	for d, cs := range clients {
		var server struct {
			Rev  int    `json:"rev"`
			Text string `json:"text"`
		}
		if err := getJSON(base+"/api/docs/"+ids[d], &server); err != nil {
			return err
		}
		for _, c := range cs {
			if err := c.WaitRev(ctx, server.Rev); err != nil {
				return err
			}
			if c.Text() != server.Text {
				diverged++
			}
		}
	}

	slices.Sort(latencies)
	n := len(latencies)
	if n == 0 {
		return errors.New("no edit was acknowledged")
	}
	pct := func(p float64) time.Duration { return latencies[min(n-1, int(p*float64(n)))] }
	fmt.Printf("acknowledged edits: %d in %v = %.0f edits/s\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	fmt.Printf("ack latency: p50 %v  p90 %v  p99 %v  max %v\n", pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), latencies[n-1].Round(time.Microsecond))
	fmt.Printf("failed editors: %d; editors whose text differs from the server's: %d\n", failures, diverged)
	if failures > 0 || diverged > 0 {
		return errors.New("load run had failures or divergence")
	}
	return nil
}

// randomEdit types a character, deletes one, or inserts a short word, at a
// random character boundary.
func randomEdit(rng *rand.Rand, text string) ot.Op {
	units := ot.Len(text)
	// Positions at character boundaries, in UTF-16 units.
	var bounds []int
	u := 0
	for _, r := range text {
		bounds = append(bounds, u)
		if r >= 0x10000 {
			u += 2
		} else {
			u++
		}
	}
	bounds = append(bounds, u)
	i := rng.IntN(len(bounds))
	pos := bounds[i]
	var op ot.Op
	op.Retain(pos)
	if rng.IntN(4) == 0 && i+1 < len(bounds) {
		op.Delete(bounds[i+1] - pos).Retain(units - bounds[i+1])
		return op
	}
	words := []string{"a", "e", " ", "the ", "中", "文", "😀", "é", "\n"}
	return *op.Insert(words[rng.IntN(len(words))]).Retain(units - pos)
}

func createDoc(base, title string) (string, error) {
	body, _ := json.Marshal(map[string]string{"title": title})
	res, err := http.Post(base+"/api/docs", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create document: %s", res.Status)
	}
	var d struct{ ID string }
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		return "", err
	}
	return d.ID, nil
}

func getJSON(u string, v any) error {
	res, err := http.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}
