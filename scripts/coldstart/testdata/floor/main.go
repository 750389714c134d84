// Command floor is the least a Go Lambda that purges can do: for every event
// it makes exactly one CloudFront CreateInvalidation (aws-lambda-go and
// aws-sdk-go-v2, configured from the environment as any Lambda is) and
// answers with the invalidation's ID. It checks no signature, does not decode
// the event and posts nothing. `go run ./scripts/coldstart -compare` runs it
// under aws-lambda-rie, built as the bootstrap is, as the floor that
// cdnpurge's Lambda is measured against.
//
// Environment: DISTRIBUTION_ID, and AWS_ENDPOINT_URL_CLOUDFRONT for a local
// CloudFront API (moto_server).
package main

import (
	"context"
	"encoding/json"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// paths are the paths cdnpurge sends for the command scripts/coldstart
// signs, so that both send the same request.
var paths = []string{"/index.html", "/blog/2026/05/post.html", "/news/post?id=1&ref=x"}

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	client := cloudfront.NewFromConfig(cfg)
	distributionID := os.Getenv("DISTRIBUTION_ID")
	lambda.Start(func(ctx context.Context, _ json.RawMessage) (events.LambdaFunctionURLResponse, error) {
		out, err := client.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
			DistributionId: aws.String(distributionID),
			InvalidationBatch: &types.InvalidationBatch{
				CallerReference: aws.String(strconv.FormatInt(time.Now().UnixNano(), 36)),
				Paths:           &types.Paths{Quantity: aws.Int32(int32(len(paths))), Items: paths},
			},
		})
		if err != nil {
			return events.LambdaFunctionURLResponse{}, err
		}
		return events.LambdaFunctionURLResponse{StatusCode: 200,
			Body:    `{"response_type":"in_channel","text":"Invalidation ` + aws.ToString(out.Invalidation.Id) + ` started."}`,
			Headers: map[string]string{"Content-Type": "application/json"}}, nil
	})
}
