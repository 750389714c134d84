package lambdainvoke_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cdnpurge/cdnpurge/internal/followup"
	"github.com/cdnpurge/cdnpurge/internal/lambdainvoke"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// This example hands a follow-up to a new asynchronous invocation of the
// function. In Lambda, the function name comes from AWS_LAMBDA_FUNCTION_NAME
// and cfg from config.LoadDefaultConfig, with no Endpoint; here a stand-in
// for the Invoke API on loopback refuses the call as IAM would.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"Message":"not authorized to perform: lambda:InvokeFunction"}`)
	}))
	defer srv.Close()

	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "example-secret", ""),
	}
	var scheduler followup.Scheduler = lambdainvoke.New(cfg, "cdnpurge", lambdainvoke.Options{Endpoint: srv.URL})

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := scheduler.Schedule(ctx, followup.Request{
		DistributionID: "EDFDVBD6EXAMPLE",
		InvalidationID: "I2J0I21PCUYOIK",
		ResponseURL:    "https://hooks.slack.com/commands/T0001/1234567890/secret",
		Started:        time.Now(),
	})
	if err == nil {
		log.Fatal("want an error")
	}
	fmt.Println(purge.ErrorCode(err), "-", purge.ErrorMessage(err))
	// Output:
	// permission_denied - cdnpurge's IAM role lacks lambda:InvokeFunction on its own function cdnpurge, so the invalidation cannot be followed; ask an AWS administrator to allow it
}
