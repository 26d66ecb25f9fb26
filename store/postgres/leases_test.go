package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestLeases: one holder at a time; the holder renews; another takes it
// only once it has expired or been released; a renewal after a takeover
// fails.
func TestLeases(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	take := func(doc, owner string, ttl time.Duration, want string) {
		t.Helper()
		got, err := db.TakeLease(ctx, doc, owner, ttl)
		if err != nil {
			t.Fatalf("TakeLease(%s, %s): %v", doc, owner, err)
		}
		if got != want {
			t.Fatalf("TakeLease(%s, %s): got holder %q, want %q", doc, owner, got, want)
		}
	}
	take("d1", "a", time.Minute, "a")
	take("d1", "b", time.Minute, "a") // held
	take("d1", "a", time.Minute, "a") // the holder again: renewed
	take("d2", "b", 300*time.Millisecond, "b")
	kept, err := db.RenewLeases(ctx, "a", []string{"d1", "d2"}, time.Minute)
	if err != nil || !slices.Equal(kept, []string{"d1"}) {
		t.Fatalf("RenewLeases(a): got %v, %v; want [d1]", kept, err)
	}
	time.Sleep(400 * time.Millisecond) // d2's lease expires
	take("d2", "a", time.Minute, "a")  // taken over
	kept, err = db.RenewLeases(ctx, "b", []string{"d2"}, time.Minute)
	if err != nil || len(kept) != 0 {
		t.Fatalf("RenewLeases(b) after the takeover: got %v, %v; want none", kept, err)
	}
	if err := db.ReleaseLease(ctx, "d1", "b"); err != nil { // not b's: nothing happens
		t.Fatal(err)
	}
	take("d1", "b", time.Minute, "a")
	if err := db.ReleaseLease(ctx, "d1", "a"); err != nil {
		t.Fatal(err)
	}
	take("d1", "b", time.Minute, "b")
}
