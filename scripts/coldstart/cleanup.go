package main

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// running holds the stop functions of what this process started and has not
// stopped yet (emulators, RIE and its runtime in their own process group,
// moto_server), so that an interrupt stops them too: RIE's group does not
// get the terminal's SIGINT.
var running struct {
	mu    sync.Mutex
	next  int
	stops map[int]func()
}

// whileRunning registers stop and returns it, made idempotent and
// unregistering itself: call it (or defer it) as the normal way to stop.
func whileRunning(stop func()) func() {
	running.mu.Lock()
	defer running.mu.Unlock()
	if running.stops == nil {
		running.stops = map[int]func(){}
	}
	id := running.next
	running.next++
	var once sync.Once
	wrapped := func() {
		once.Do(func() {
			running.mu.Lock()
			delete(running.stops, id)
			running.mu.Unlock()
			stop()
		})
	}
	running.stops[id] = wrapped
	return wrapped
}

// stopOnSignal stops everything registered and exits on SIGINT or SIGTERM.
func stopOnSignal() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-c
		running.mu.Lock()
		var stops []func()
		for _, stop := range running.stops {
			stops = append(stops, stop)
		}
		running.mu.Unlock()
		for _, stop := range stops {
			stop()
		}
		os.Exit(130)
	}()
}
