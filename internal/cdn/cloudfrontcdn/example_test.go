package cloudfrontcdn_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cdnpurge/cdnpurge/internal/cdn/cloudfrontcdn"
	"github.com/cdnpurge/cdnpurge/internal/emulator"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// This example purges two paths through a CloudFront-compatible endpoint,
// here cdnpurge's emulator on loopback. Against AWS, leave Endpoint empty and
// let config.LoadDefaultConfig find the credentials.
func Example() {
	srv := httptest.NewServer(emulator.New(emulator.Options{Distributions: []string{"EDFDVBD6EXAMPLE"}}))
	defer srv.Close()

	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "example-secret", "")),
	)
	if err != nil {
		log.Fatal(err)
	}
	cdn := cloudfrontcdn.New(cfg, cloudfrontcdn.Options{Endpoint: srv.URL})

	inv, err := cdn.CreateInvalidation(ctx, purge.Batch{
		DistributionID:  "EDFDVBD6EXAMPLE",
		CallerReference: "slack-trigger-13345224609.738474920.8088930838d88f008e0",
		Paths:           []string{"/blog/*", "/index.html"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.Status, inv.Paths)

	// Errors carry a code to act on and a message to show the user.
	_, err = cdn.GetInvalidation(ctx, "EDFDVBD6EXAMPLE", "INOSUCHINVALIDATION")
	fmt.Println(purge.ErrorCode(err), "-", purge.ErrorMessage(err))
	// Output:
	// Completed [/blog/* /index.html]
	// not_found - CloudFront has no invalidation INOSUCHINVALIDATION on distribution EDFDVBD6EXAMPLE; check the invalidation ID
}

// A distribution tenant ID (dt_...) stands wherever a distribution ID does:
// the Invalidator then uses the tenant's operations, such as
// CreateInvalidationForDistributionTenant.
func Example_tenant() {
	e := emulator.New(emulator.Options{Tenants: []string{"dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB"}})
	srv := httptest.NewServer(e)
	defer srv.Close()
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "example-secret", ""),
	}
	cdn := cloudfrontcdn.New(cfg, cloudfrontcdn.Options{Endpoint: srv.URL})

	ctx := context.Background()
	inv, err := cdn.CreateInvalidation(ctx, purge.Batch{
		DistributionID:  "dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB",
		CallerReference: "deploy-42",
		Paths:           []string{"/*"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inv.DistributionID, inv.Status, e.AccessKeyOf(inv.ID))

	_, err = cdn.ListInvalidations(ctx, "dt_NoSuchTenant", purge.ListOptions{})
	fmt.Println(purge.ErrorCode(err), "-", purge.ErrorMessage(err))
	// Output:
	// dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB Completed AKIDEXAMPLE
	// not_found - CloudFront has no distribution tenant dt_NoSuchTenant; check the distribution tenant ID
}
