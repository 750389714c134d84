package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

func TestProgress(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	inProgress := &purge.Invalidation{ID: "I2J0I21PCUYOIK", Status: purge.StatusInProgress}
	completed := &purge.Invalidation{ID: "I2J0I21PCUYOIK", Status: purge.StatusCompleted}
	play := func(p *progress) {
		p.update(inProgress, t0)
		p.beat(t0.Add(time.Second))
		p.update(inProgress, t0.Add(5*time.Second))
		p.beat(t0.Add(31 * time.Second))
		p.beat(t0.Add(40 * time.Second))
		p.update(completed, t0.Add(45*time.Second))
		p.finish()
		p.beat(t0.Add(50 * time.Second)) // after finish: nothing
	}

	t.Run("terminal", func(t *testing.T) {
		var buf bytes.Buffer
		play(&progress{w: &buf, terminal: true, heartbeat: 30 * time.Second, id: inProgress.ID, start: t0})
		want := "\r\x1b[2Kinvalidation I2J0I21PCUYOIK InProgress, 0s elapsed" +
			"\r\x1b[2Kinvalidation I2J0I21PCUYOIK InProgress, 1s elapsed" +
			"\r\x1b[2Kinvalidation I2J0I21PCUYOIK InProgress, 5s elapsed" +
			"\r\x1b[2Kinvalidation I2J0I21PCUYOIK InProgress, 31s elapsed" +
			"\r\x1b[2Kinvalidation I2J0I21PCUYOIK InProgress, 40s elapsed" +
			"\r\x1b[2Kinvalidation I2J0I21PCUYOIK Completed after 45s\n"
		if buf.String() != want {
			t.Errorf("got  %q\nwant %q", buf.String(), want)
		}
	})
	t.Run("log", func(t *testing.T) {
		var buf bytes.Buffer
		play(&progress{w: &buf, terminal: false, heartbeat: 30 * time.Second, id: inProgress.ID, start: t0})
		want := "2026-03-01T10:00:00Z invalidation I2J0I21PCUYOIK InProgress, 0s elapsed\n" +
			"2026-03-01T10:00:31Z invalidation I2J0I21PCUYOIK still InProgress after 31s\n" +
			"2026-03-01T10:00:45Z invalidation I2J0I21PCUYOIK Completed after 45s\n"
		if buf.String() != want {
			t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
		}
	})
	t.Run("not a terminal", func(t *testing.T) {
		if isTerminal(&bytes.Buffer{}) {
			t.Error("a bytes.Buffer is a terminal")
		}
	})
}
