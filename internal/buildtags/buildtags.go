// Package buildtags names the build tags of cdnpurge's Lambda bootstrap,
// in one place for deploy/build, which makes the deployment zip, and for
// the tests that run the same binary under aws-lambda-rie.
package buildtags

// LambdaOnly is the tag that makes cmd/cdnpurge the Lambda build: no
// Prometheus client and no /metrics (the Lambda writes CloudWatch EMF).
const LambdaOnly = "cdnpurge_lambda"

// Lambda returns the tags of the Lambda bootstrap:
//
//   - lambda.norpc drops aws-lambda-go's legacy RPC mode, which only the
//     retired go1.x runtime used;
//   - LambdaOnly leaves out serve's Prometheus client (client_golang,
//     protobuf, prometheus/common: about 1 MB of the zip and 2 ms of
//     package init), which the Lambda, counting with the EMF sink, never
//     uses; the zip stays under the product's 5 MB.
func Lambda() []string { return []string{"lambda.norpc", LambdaOnly} }
