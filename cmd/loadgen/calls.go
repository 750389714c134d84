package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// cloudFrontCalls is what the emulator counted while the load was sent: its
// requests per operation, and each divided by the purges the replies said
// had started.
type cloudFrontCalls struct {
	Skipped  string             `json:"skipped,omitempty"`
	Purges   int                `json:"purges"`
	Calls    map[string]int     `json:"calls,omitempty"`
	PerPurge map[string]float64 `json:"per_purge,omitempty"`
}

// callsTimeout bounds one read of the emulator's counts.
const callsTimeout = 5 * time.Second

// readCalls reads the emulator's counts of requests per operation
// (emulator.CallsPath).
func readCalls(ctx context.Context, client *http.Client, endpoint string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, callsTimeout)
	defer cancel()
	return emulator.ReadCalls(ctx, client, endpoint)
}

// callsDuring is the difference of two readings, per purge. A reading that
// failed (an emulator without counts) makes the report say why instead.
func callsDuring(before, after map[string]int, err error, purges int) *cloudFrontCalls {
	c := &cloudFrontCalls{Purges: purges}
	if err != nil {
		c.Skipped = "the emulator reports no call counts: " + err.Error()
		return c
	}
	c.Calls, c.PerPurge = map[string]int{}, map[string]float64{}
	for op, n := range after {
		c.Calls[op] = n - before[op]
		if purges > 0 {
			c.PerPurge[op] = round(float64(c.Calls[op]) / float64(purges))
		}
	}
	return c
}

// perPurgeOps are the operations always shown, in this order; others
// (the tenant operations) only when they were called.
var perPurgeOps = []string{emulator.OpCreateInvalidation, emulator.OpListInvalidations, emulator.OpGetInvalidation}

// text is the report's line: each operation's calls per purge.
func (c *cloudFrontCalls) text() string {
	if c.Skipped != "" {
		return "not counted: " + c.Skipped
	}
	if c.Purges == 0 {
		return "no purge started"
	}
	ops := slices.Clone(perPurgeOps)
	for _, op := range slices.Sorted(maps.Keys(c.Calls)) {
		if !slices.Contains(ops, op) && c.Calls[op] > 0 {
			ops = append(ops, op)
		}
	}
	var parts []string
	total := 0.0
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %.2f", op, c.PerPurge[op]))
		total += c.PerPurge[op]
	}
	return fmt.Sprintf("%s; %.2f in all (%d purges)", strings.Join(parts, ", "), total, c.Purges)
}
