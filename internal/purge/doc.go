// Package purge is the domain of cdnpurge: what a purge request is, the rules a
// CloudFront invalidation path must follow, the coded errors every backend
// reports, and the Invalidator interface the backends implement.
//
// It imports nothing from the outside worlds it serves (Slack, AWS, HTTP):
// those live in their own packages and depend on this one, never the reverse.
package purge
