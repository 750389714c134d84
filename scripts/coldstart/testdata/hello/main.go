// Command hello is the smallest Go Lambda: it answers every event with a
// fixed Function URL response. scripts/coldstart runs it under
// aws-lambda-rie as the floor that the runtime emulator and a Go process
// cost before any of cdnpurge runs.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (events.LambdaFunctionURLResponse, error) {
		return events.LambdaFunctionURLResponse{StatusCode: 200, Body: `{"response_type":"in_channel"}`,
			Headers: map[string]string{"Content-Type": "application/json"}}, nil
	})
}
