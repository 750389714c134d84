// Package emulator is a local emulator of the CDN APIs cdnpurge purges
// through, each in its real wire format: CloudFront's (below), Cloudflare's
// purge_cache (cloudflare.go: POST /client/v4/zones/{zone}/purge_cache,
// Bearer tokens, the JSON envelope, 429 with Retry-After) and Fastly's purge
// calls (fastly.go: /purge/{url}, /service/{id}/purge, purge_all, Fastly-Key),
// so that cloudflare-go, our Fastly client and the AWS SDKs work against it
// unchanged.
//
// For CloudFront it serves the invalidation operations cdnpurge uses: CreateInvalidation, GetInvalidation and
// ListInvalidations on a distribution
// (/2020-05-31/distribution/{Id}/invalidation), and their twins on a
// distribution tenant of a multi-tenant distribution,
// CreateInvalidationForDistributionTenant,
// GetInvalidationForDistributionTenant and
// ListInvalidationsForDistributionTenant
// (/2020-05-31/distribution-tenant/{Id}/invalidation), in the real CloudFront
// REST/XML wire format of API version 2020-05-31. Because it speaks the wire
// format, aws-sdk-go-v2's cloudfront client, the AWS CLI (with
// --endpoint-url) and any other AWS SDK work against it unchanged.
//
// A tenant keeps invalidations of its own, with the same documents, rules,
// limits, idempotency and paging as a distribution's.
//
// An *Emulator is an http.Handler; serve it with httptest.NewServer in tests
// or with an http.Server on loopback for `cdnpurge emulate`. It keeps the
// rules CloudFront enforces and answers with CloudFront's error codes and
// HTTP statuses:
//
//   - NoSuchDistribution (404), EntityNotFound (404) for a distribution
//     tenant, and NoSuchInvalidation (404) for unknown IDs;
//   - MissingBody (400), MalformedInput (400) and InconsistentQuantities (400)
//     for a missing, unparsable or self-contradicting InvalidationBatch;
//   - InvalidArgument (400) for a path that does not start with "/", is longer
//     than 4,000 characters or has '*' anywhere but last, for an empty
//     CallerReference or path list, and for a bad MaxItems or Marker;
//   - BatchTooLarge (413) for more than 3,000 paths in one batch;
//   - TooManyInvalidationsInProgress (400) when a batch would take the
//     distribution or tenant over 3,000 file paths or 15 wildcard paths in
//     progress;
//   - InvalidationBatchAlreadyExists (400) when a CallerReference is reused
//     with other paths. Reused with the same paths (in any order), it returns
//     the existing invalidation with 201 Created, the only success status the
//     CreateInvalidation reference documents.
//
// Anything it does not serve gets 404 NotFound, and a wrong method on a known
// resource gets 405 MethodNotAllowed, both as CloudFront ErrorResponse XML.
// Every response carries an x-amzn-RequestId header. Authorization headers
// (SigV4) are accepted and never verified; the access key ID that signed a
// CreateInvalidation is kept, for AccessKeyOf, and never logged.
//
// The emulator counts the requests it serves per operation (Calls,
// CallCounts), and reports them, outside the API, on a GET of CallsPath
// from loopback, so that a benchmark can say how many CloudFront calls a
// purge took.
//
// An invalidation is InProgress until Options.CompleteAfter has passed on
// Options.Now, then Completed; the status is computed on every read, so there
// are no goroutines or timers and a test can drive it with a fake clock.
//
// We write this ourselves because the AWS SDKs have only the client side of
// the protocol: serializers for requests and deserializers for responses.
package emulator
