package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/awssecret"
	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/secretarn"
)

// secretsTimeout bounds reading the secrets from AWS at start: inside the
// 10 s Lambda gives a function's init.
const secretsTimeout = 8 * time.Second

// readSecrets reads from AWS, once, the secret settings of cfg given by
// ARN that want accepts (every one when want is nil), and sets them in cfg
// as config.Secret, before Validate checks them like values from the
// environment. With none to read it makes no AWS call, and loads no AWS
// configuration. A refused read is an error naming the variable, the ARN
// and what is missing (the IAM action); a value never shows. It returns
// the variables whose ARNs it read, for the start-up log.
func readSecrets(ctx context.Context, cfg *config.Config, getenv func(string) string, want func(config.SecretARN) bool) ([]string, error) {
	var refs []config.SecretARN
	for _, s := range cfg.SecretARNs() {
		if want == nil || want(s) {
			refs = append(refs, s)
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	awsCfg, err := loadAWSConfig(ctx, *cfg, getenv)
	if err != nil {
		return nil, err
	}
	arns := make([]secretarn.ARN, len(refs))
	for i, s := range refs {
		arns[i] = s.ARN
	}
	values, err := awssecret.Read(ctx, awsCfg, arns, awssecret.Options{Timeout: secretsTimeout})
	if err != nil {
		return nil, namedReadErrors(refs, err)
	}
	from := make([]string, len(refs))
	for i, s := range refs {
		cfg.SetSecret(s.Variable, config.Secret(values[s.ARN.String()]))
		from[i] = s.From
	}
	return from, nil
}

// namedReadErrors puts before each of Read's errors the variables whose
// ARN it is about, one line each, for an operator who set them.
func namedReadErrors(refs []config.SecretARN, err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	var errs []error
	for _, e := range joined.Unwrap() {
		var re *awssecret.Error
		if !errors.As(e, &re) {
			errs = append(errs, e)
			continue
		}
		var from []string
		for _, s := range refs {
			if s.ARN.String() == re.ARN {
				from = append(from, s.From)
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", strings.Join(from, ", "), e))
	}
	return errors.Join(errs...)
}
