// Package purge is the domain of cdnpurge, provider-neutral: what a purge
// request is (the command text, its items: paths, prefixes, tags, hosts,
// everything), the coded errors every provider reports, the Provider
// interface with its Capabilities and Pricing, and, for providers that
// keep a history of purges, the Invalidator interface and what reads it
// (usage, finding a request, watching one to the end).
//
// It imports no client of the outside worlds it serves (no Slack, AWS or
// HTTP library): those live in their own packages and depend on this one,
// never the reverse. Each provider's own rules, limits and price live in
// its package (internal/cdn/...). What stays here of CloudFront is its
// distribution tenants' ID shape and the CallerReference format that
// records who asked, in Slack or from the command line, which the flow
// reads back from CloudFront's history.
package purge
