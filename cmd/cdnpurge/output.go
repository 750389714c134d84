package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// How invalidate, status and list write for people and for --json.

// A dt_… ID is a distribution tenant, never a "distribution", in the
// command line's output.

// targetNoun names what id is, for a sentence: "Distribution" or
// "Distribution tenant".
func targetNoun(id string) string {
	if purge.IsTenantID(id) {
		return "Distribution tenant"
	}
	return "Distribution"
}

// targetKey is the label of id's line in the "key  value" output.
func targetKey(id string) string {
	if purge.IsTenantID(id) {
		return "tenant"
	}
	return "distribution"
}

// invalidationJSON is how the --json of invalidate and status starts: the
// invalidation, where it is, its status and paths.
type invalidationJSON struct {
	ID           string       `json:"id"`
	Distribution string       `json:"distribution,omitempty"`
	Tenant       string       `json:"tenant,omitempty"` // a distribution tenant, instead of Distribution
	Status       purge.Status `json:"status"`
	Paths        []string     `json:"paths"`
}

// newInvalidationJSON is invalidation id of target, a distribution or a
// tenant, for --json.
func newInvalidationJSON(id, target string, status purge.Status, paths []string) invalidationJSON {
	j := invalidationJSON{ID: id, Status: status, Paths: paths}
	j.Distribution, j.Tenant = splitTarget(target)
	return j
}

// splitTarget returns id as the JSON's distribution or its tenant.
func splitTarget(id string) (distribution, tenant string) {
	if purge.IsTenantID(id) {
		return "", id
	}
	return id, ""
}

// fields writes aligned "key  value" lines; a key with several values gets
// one line each, the key on the first only.
type fields struct{ w io.Writer }

func newFields(w io.Writer) fields { return fields{w} }

func (f fields) field(key string, values ...string) {
	for i, v := range values {
		if i > 0 {
			key = ""
		}
		fmt.Fprintf(f.w, "%-13s %s\n", key, v)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// seconds is d in seconds, to the millisecond, for JSON.
func seconds(d time.Duration) float64 { return max(d, 0).Round(time.Millisecond).Seconds() }

// formatDuration writes an elapsed time or an age for people: 12s, 5m3s,
// 3h12m, 4d2h.
func formatDuration(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	default:
		d = d.Round(time.Hour)
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	}
}
