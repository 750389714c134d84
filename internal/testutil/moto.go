package testutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// ErrNoMoto is StartMoto's error when moto_server is not installed.
var ErrNoMoto = errors.New("moto_server not found (pip install 'moto[server]')")

// MustStartMoto starts moto_server on a free loopback port, stops it when the
// test ends, and returns its base URL. It skips the test if moto_server is
// not installed.
func MustStartMoto(tb testing.TB) string {
	tb.Helper()
	url, stop, err := StartMoto()
	if errors.Is(err, ErrNoMoto) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return url
}

// StartMoto starts moto_server on a free loopback port and waits, for at most
// 30 seconds, until it answers. It returns its base URL and a stop function
// that kills it and waits for it to exit; on error nothing is left running.
// The measuring scripts use it; tests use MustStartMoto.
func StartMoto() (url string, stop func(), _ error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrNoMoto, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	var out LockedBuffer
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", port)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start moto_server: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop = func() {
		cmd.Process.Kill()
		<-exited
	}

	url = "http://127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url, stop, nil
		}
		select {
		case <-exited:
			return "", nil, fmt.Errorf("moto_server exited: %s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("moto_server did not answer on %s within 30s: %v\n%s", url, err, out.String())
		}
	}
}

// CreateDistribution creates a minimal distribution through the SDK against
// endpoint (moto_server) and returns its ID.
func CreateDistribution(ctx context.Context, cfg aws.Config, endpoint string) (string, error) {
	client := cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) { o.BaseEndpoint = aws.String(endpoint) })
	out, err := client.CreateDistribution(ctx, &cloudfront.CreateDistributionInput{
		DistributionConfig: &types.DistributionConfig{
			CallerReference: aws.String(fmt.Sprintf("cdnpurge-%d", time.Now().UnixNano())),
			Comment:         aws.String("cdnpurge"),
			Enabled:         aws.Bool(true),
			Origins: &types.Origins{
				Quantity: aws.Int32(1),
				Items: []types.Origin{{
					Id:         aws.String("origin"),
					DomainName: aws.String("origin.example.com"),
					CustomOriginConfig: &types.CustomOriginConfig{
						HTTPPort:             aws.Int32(80),
						HTTPSPort:            aws.Int32(443),
						OriginProtocolPolicy: types.OriginProtocolPolicyHttpsOnly,
					},
				}},
			},
			DefaultCacheBehavior: &types.DefaultCacheBehavior{
				TargetOriginId:       aws.String("origin"),
				ViewerProtocolPolicy: types.ViewerProtocolPolicyRedirectToHttps,
			},
		},
	})
	if err != nil {
		return "", fmt.Errorf("CreateDistribution: %w", err)
	}
	return aws.ToString(out.Distribution.Id), nil
}
