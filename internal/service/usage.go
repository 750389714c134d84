package service

import (
	"context"
	"strings"
	"sync"

	"github.com/cdnpurge/cdnpurge/internal/access"
	"github.com/cdnpurge/cdnpurge/internal/purge"
	"github.com/cdnpurge/cdnpurge/internal/slack"
)

// usage answers `/cdn-purge usage`: this month's billed paths of each
// target that may be purged from this channel, one row per distribution
// (targets that share one share its row), grouped by the AWS account that
// pays. An account's total, which the free paths and the cost estimate
// depend on, also counts its other targets, unnamed: the bill does, and the
// estimate must not change with the channel it is asked from. CloudFront is
// the record: every invalidation of the month counts, whoever made it. The
// rows are counted at once, within the reply budget; what the budget did
// not reach is shown as "at least". The error is that of a row not
// counted, for the log; the message says so all the same.
func (s *Service) usage(ctx context.Context, who access.Who) (slack.Reply, error) {
	now := s.opts.Now()
	since := purge.MonthStart(now)
	var accounts []slack.UsageAccount
	accountIndex := map[string]int{}
	type rowAt struct{ account, row int }
	rowIndex := map[string]rowAt{}
	shownAccounts := map[string]bool{}
	for _, t := range s.opts.Targets.All() {
		if t.Channels.Allows(who.ChannelID, who.ChannelName) {
			shownAccounts[accountOf(t.RoleARN)] = true
		}
	}
	var notBilled []string
	for _, t := range s.opts.Targets.All() {
		caps := s.provider(t).Capabilities()
		if caps.Pricing == nil || !caps.History {
			// Nothing to count: the provider bills no purge, or keeps no
			// record of them.
			if t.Channels.Allows(who.ChannelID, who.ChannelName) {
				notBilled = append(notBilled, t.Name+" ("+caps.Provider+")")
			}
			continue
		}
		acct := accountOf(t.RoleARN)
		if !shownAccounts[acct] {
			continue
		}
		hidden := !t.Channels.Allows(who.ChannelID, who.ChannelName)
		if at, ok := rowIndex[t.DistributionID]; ok {
			r := &accounts[at.account].Rows[at.row]
			if !hidden {
				r.Targets = append(r.Targets, t.Name)
				r.Hidden = false
			}
			continue
		}
		ai, ok := accountIndex[acct]
		if !ok {
			ai = len(accounts)
			accountIndex[acct] = ai
			accounts = append(accounts, slack.UsageAccount{Account: acct, Pricing: *caps.Pricing})
		}
		rowIndex[t.DistributionID] = rowAt{ai, len(accounts[ai].Rows)}
		row := slack.UsageRow{DistributionID: t.DistributionID, Hidden: hidden}
		if !hidden {
			row.Targets = []string{t.Name}
		}
		accounts[ai].Rows = append(accounts[ai].Rows, row)
	}
	var wg sync.WaitGroup
	for ai := range accounts {
		for ri := range accounts[ai].Rows {
			r := &accounts[ai].Rows[ri]
			wg.Go(func() {
				r.Usage, r.Err = purge.Usage(ctx, s.opts.Invalidator, r.DistributionID, since)
			})
		}
	}
	wg.Wait()
	var err error
	for _, a := range accounts {
		for _, r := range a.Rows {
			if r.Err != nil {
				err = r.Err
				s.log.WarnContext(ctx, "usage not counted", "distribution", r.DistributionID, "error", r.Err)
			}
		}
	}
	return slack.Usage{Month: since.Format("January 2006"), Accounts: accounts, NotBilled: notBilled}, err
}

// accountOf returns the AWS account ID of an IAM role ARN
// (arn:aws:iam::123456789012:role/name), or "" for none: the targets that
// use the service's own credentials.
func accountOf(roleARN string) string {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
