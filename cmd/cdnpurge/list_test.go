package main

import (
	"strings"
	"testing"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

func TestList(t *testing.T) {
	getenv := cliEnv(testutil.MustEmulator(t, time.Hour))
	if code, out, _ := runCmd(t, getenv, "list"); code != 0 || !strings.Contains(out, "has no invalidations") {
		t.Fatalf("empty list: exit %d\n%s", code, out)
	}
	var created []string // oldest first
	for _, p := range []string{"/one", "/two", "/three", "/four"} {
		code, out, errOut := runCmd(t, getenv, "invalidate", p)
		if code != 0 {
			t.Fatalf("invalidate %s: exit %d: %s", p, code, errOut)
		}
		created = append(created, fieldValue(out, "invalidation"))
	}
	newestFirst := []string{created[3], created[2], created[1], created[0]}

	tests := []struct {
		name     string
		pageSize int
		args     []string
		want     []string
	}{
		{"all, newest first", 100, nil, newestFirst},
		{"--max", 100, []string{"--max", "2"}, newestFirst[:2]},
		{"paging with Marker", 1, []string{"--max", "3"}, newestFirst[:3]},
		{"paging past the end", 3, []string{"--max", "50"}, newestFirst},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultSettings()
			s.listPageSize = tt.pageSize
			if got := listIDsWith(t, &s, getenv, tt.args...); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("table", func(t *testing.T) {
		code, out, errOut := runCmd(t, getenv, "list", "--max", "2")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.HasPrefix(lines[1], newestFirst[0]+" ") ||
			!strings.HasPrefix(lines[2], newestFirst[1]+" ") || !strings.Contains(lines[1], "InProgress") {
			t.Errorf("table:\n%s", out)
		}
	})
	for _, args := range [][]string{{"list", "--max", "0"}, {"list", "extra"}} {
		if code, _, errOut := runCmd(t, getenv, args...); code != 2 {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}
}
