package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// reconciliation compares what the channel was told with what CloudFront
// (the emulator) holds.
type reconciliation struct {
	Checked bool   `json:"checked"`
	Skipped string `json:"skipped,omitempty"`
	OK      bool   `json:"ok"`
	// Accepted is how many commands were told their invalidation started.
	Accepted int `json:"accepted"`
	// Created is how many invalidations of this run the emulator holds, and
	// DistinctCallerReferences how many different caller references they
	// have: all three are equal when nothing was lost or done twice.
	Created                  int `json:"created"`
	DistinctCallerReferences int `json:"distinct_caller_references"`
	// Lost: accepted commands whose invalidation is not there.
	Lost int `json:"lost"`
	// Unreported: invalidations whose command was not told it started (a
	// failure reply, or no reply), or that differ from the one it was told.
	Unreported int `json:"unreported"`
	// SharedIDs: invalidation IDs named by more than one command.
	SharedIDs int `json:"shared_ids"`
	// Other: invalidations of the distribution that are not this run's.
	Other int `json:"other_invalidations"`
	Took  ms  `json:"took_ms"`
}

func (r *reconciliation) judge() {
	r.OK = r.Lost == 0 && r.Unreported == 0 && r.SharedIDs == 0 &&
		r.Created == r.Accepted && r.DistinctCallerReferences == r.Created
}

// reconcile lists every invalidation of dist (ListInvalidations, paging),
// reads each one's CallerReference (GetInvalidation), and checks them
// against the replies. Reads are retried patiently: the emulator may be
// injecting faults into them too.
func reconcile(ctx context.Context, client *http.Client, endpoint, dist string, res *loadResult) (rec reconciliation, _ error) {
	start := time.Now()
	rec = reconciliation{Checked: true, Accepted: len(res.ids)}
	defer func() { rec.Took = ms(time.Since(start)) }()
	inv := cloudfrontcdn.New(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("loadgen-local", "loadgen-local", ""),
	}, cloudfrontcdn.Options{Endpoint: endpoint, HTTPClient: client, MaxAttempts: 10, MaxBackoff: 20 * time.Millisecond})

	var ids []string
	opts := purge.ListOptions{MaxItems: 1000}
	for {
		var page *purge.Page
		err := patiently(ctx, func() (err error) {
			page, err = inv.ListInvalidations(ctx, dist, opts)
			return err
		})
		if err != nil {
			return rec, err
		}
		for _, s := range page.Items {
			ids = append(ids, s.ID)
		}
		if page.NextMarker == "" {
			break
		}
		opts.Marker = page.NextMarker
	}

	refs := make([]string, len(ids))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				err := patiently(ctx, func() error {
					got, err := inv.GetInvalidation(ctx, dist, ids[i])
					if err == nil {
						refs[i] = got.CallerReference
					}
					return err
				})
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("GetInvalidation(%s): %w", ids[i], err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range ids {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return rec, firstErr
	}

	prefix := purge.SlackCallerReference(loadUser, "lg."+res.runID+".")
	byTrigger := map[string]string{} // trigger -> invalidation ID found
	seenRef := map[string]bool{}
	for i, ref := range refs {
		trigger, ok := strings.CutPrefix(ref, purge.SlackCallerReference(loadUser, ""))
		if !ok || !strings.HasPrefix(ref, prefix) {
			rec.Other++
			continue
		}
		rec.Created++
		if !seenRef[ref] {
			seenRef[ref] = true
			rec.DistinctCallerReferences++
		}
		byTrigger[trigger] = ids[i]
		if told, ok := res.ids[trigger]; !ok || told != ids[i] {
			rec.Unreported++
		}
	}
	named := map[string]int{}
	for trigger, id := range res.ids {
		named[id]++
		if named[id] == 2 {
			rec.SharedIDs++
		}
		if byTrigger[trigger] != id {
			rec.Lost++
		}
	}
	rec.judge()
	return rec, nil
}

// patiently calls f until it succeeds, fails with a lasting error, or ctx
// ends.
func patiently(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || !purge.Temporary(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
