// Package purge is the domain of cdnpurge: what a purge request is (the
// command text, its items: paths, prefixes, tags, hosts, everything), the
// coded errors every provider reports, the Provider interface and its
// Capabilities, and the Invalidator interface of the CloudFront backend.
//
// It imports no client of the outside worlds it serves (no Slack, AWS or
// HTTP library): those live in their own packages and depend on this one,
// never the reverse. It does hold the facts about them that its rules need:
// CloudFront's path rules, limits and prices and its distribution tenants,
// and the CallerReference format that records who asked in Slack or from
// the command line.
package purge
