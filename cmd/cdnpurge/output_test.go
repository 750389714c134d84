package main

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                    "0s",
		1400 * time.Millisecond:         "1s",
		5*time.Minute + 3*time.Second:   "5m3s",
		3*time.Hour + 12*time.Minute:    "3h12m",
		4*24*time.Hour + 2*time.Hour:    "4d2h",
		2*time.Hour + 29*time.Second:    "2h0m",
		49*time.Hour + 10*time.Minute:   "2d1h",
		59*time.Minute + 59*time.Second: "59m59s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
