package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// progress shows how a --wait is going. On a terminal it keeps one live line,
// rewritten in place with the status and the elapsed time; elsewhere (a CI
// log) it writes a timestamped line when the status changes, and a heartbeat
// line every heartbeat while nothing changes. It is safe for concurrent use.
type progress struct {
	mu        sync.Mutex
	w         io.Writer
	terminal  bool
	heartbeat time.Duration // how often a line says, not on a terminal, that nothing changed
	id        string
	start     time.Time

	status   purge.Status
	lastLine time.Time // when the last line was written (not a terminal)
	drawn    bool      // a live line is on screen (terminal)
	done     bool      // finish was called
}

// update records a state read from CloudFront at now.
func (p *progress) update(inv *purge.Invalidation, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := inv.Status != p.status
	p.status = inv.Status
	switch {
	case p.done:
	case p.terminal:
		p.redraw(now)
	case changed:
		p.line(now, p.describe(now))
	}
}

// beat refreshes the live line, or writes the heartbeat when it is due.
func (p *progress) beat(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.done || p.status == "":
	case p.terminal:
		p.redraw(now)
	case now.Sub(p.lastLine) >= p.heartbeat:
		p.line(now, fmt.Sprintf("invalidation %s still %s after %s", p.id, p.status, formatDuration(now.Sub(p.start))))
	}
}

// tick calls beat every interval until the returned stop is called.
func (p *progress) tick(interval time.Duration) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				p.beat(now)
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
	}
}

// finish ends the live line, so that what follows starts on a line of its own.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal && p.drawn && !p.done {
		fmt.Fprintln(p.w)
	}
	p.done = true
}

func (p *progress) describe(now time.Time) string {
	elapsed := formatDuration(now.Sub(p.start))
	if p.status == purge.StatusCompleted {
		return fmt.Sprintf("invalidation %s %s after %s", p.id, p.status, elapsed)
	}
	return fmt.Sprintf("invalidation %s %s, %s elapsed", p.id, p.status, elapsed)
}

// redraw rewrites the live line: carriage return, erase the line, the text.
func (p *progress) redraw(now time.Time) {
	fmt.Fprintf(p.w, "\r\x1b[2K%s", p.describe(now))
	p.drawn = true
}

func (p *progress) line(now time.Time, text string) {
	fmt.Fprintf(p.w, "%s %s\n", now.UTC().Format(time.RFC3339), text)
	p.lastLine = now
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
