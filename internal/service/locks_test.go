package service

import (
	"context"
	"testing"
)

// TestKeyedLocksGiveUp: a click waiting for another click on the same
// request gives up when its budget ends; a click on another request does
// not wait.
func TestKeyedLocksGiveUp(t *testing.T) {
	var k keyedLocks
	unlock, err := k.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	other, err := k.lock(context.Background(), "b")
	if err != nil {
		t.Fatalf("another key waited: %v", err)
	}
	other()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k.lock(ctx, "a"); err == nil {
		t.Fatal("a second lock of a held key did not give up with its context")
	}
	unlock()
	again, err := k.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	again()
	if len(k.locks) != 0 {
		t.Fatalf("%d locks kept after every unlock", len(k.locks))
	}
}
