package cloudfrontcdn

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"

	"github.com/cdnpurge/cdnpurge/internal/awserr"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// call describes one API call, for the context of its errors.
type call struct {
	op              string // the CloudFront action, e.g. "CreateInvalidation" (see opName)
	distributionID  string // or a distribution tenant ID
	invalidationID  string
	callerReference string

	endpoint endpoint // where the call went
	reached  bool     // some attempt may have reached CloudFront
}

// kind names what distributionID is: "distribution" or, for a tenant ID,
// "distribution tenant".
func (c call) kind() string {
	if purge.IsTenantID(c.distributionID) {
		return "distribution tenant"
	}
	return "distribution"
}

// creates reports whether the call creates an invalidation, on a
// distribution or on a tenant.
func (c call) creates() bool { return strings.HasPrefix(c.op, opCreate) }

// wrap adds the call's context to err, for the operator's log.
func (c call) wrap(err error) error {
	switch {
	case c.invalidationID != "":
		return fmt.Errorf("%s %q, invalidation %q: %w", c.kind(), c.distributionID, c.invalidationID, err)
	case c.callerReference != "":
		return fmt.Errorf("%s %q, caller reference %q: %w", c.kind(), c.distributionID, c.callerReference, err)
	default:
		return fmt.Errorf("%s %q: %w", c.kind(), c.distributionID, err)
	}
}

func (c call) invalid(msg string) *purge.Error {
	return &purge.Error{Code: purge.Invalid, Message: msg, Err: c.wrap(fmt.Errorf("%s: %s", c.op, msg))}
}

func (c call) internal(detail string) *purge.Error {
	return &purge.Error{Code: purge.Internal, Message: "internal error", Err: c.wrap(fmt.Errorf("%s: %s", c.op, detail))}
}

// classify turns an error of the SDK into a *purge.Error whose Code says what
// happened and whose Message is safe to show to a chat user: it names the
// distribution, invalidation or caller reference the user gave, never
// anything from the server or the credentials. The full error goes to Err.
func (c call) classify(err error) *purge.Error {
	if reason := c.unreached(err); reason != "" {
		return &purge.Error{Code: purge.Unavailable, Message: c.unreachable(reason), Err: c.wrap(fmt.Errorf("%w: %w", purge.ErrUnreachable, err))}
	}
	code, msg := c.code(err)
	detail := c.wrap(err)
	if isTooManyInProgress(err) {
		detail = fmt.Errorf("%w: %w", purge.ErrInProgressLimit, detail)
	}
	return &purge.Error{Code: code, Message: msg, Err: detail}
}

// isTooManyInProgress reports whether CloudFront refused for its
// in-progress limits, by the SDK's type or by the code.
func isTooManyInProgress(err error) bool {
	var tooMany *types.TooManyInvalidationsInProgress
	var apiErr smithy.APIError
	return errors.As(err, &tooMany) || errors.As(err, &apiErr) && apiErr.ErrorCode() == "TooManyInvalidationsInProgress"
}

func (c call) code(err error) (purge.Code, string) {
	var (
		noDistribution *types.NoSuchDistribution
		noTenant       *types.EntityNotFound // what the tenant operations answer for an unknown tenant
		noInvalidation *types.NoSuchInvalidation
		accessDenied   *types.AccessDenied
		tooMany        *types.TooManyInvalidationsInProgress
		batchTooLarge  *types.BatchTooLarge
		inconsistent   *types.InconsistentQuantities
		invalidArg     *types.InvalidArgument
		missingBody    *types.MissingBody
	)
	// What the server said, by the SDK's types first,
	switch {
	case errors.As(err, &noDistribution), errors.As(err, &noTenant):
		return c.noDistribution()
	case errors.As(err, &noInvalidation):
		return c.noInvalidation()
	case errors.As(err, &accessDenied):
		return c.permissionDenied()
	case errors.As(err, &tooMany):
		// The SDK calls this a client fault, and rightly does not retry it:
		// it is a limit on work in progress, which clears as invalidations
		// complete. For the caller it is a rate limit.
		return c.tooManyInProgress()
	case errors.As(err, &batchTooLarge):
		return purge.Invalid, "too many paths for one invalidation: CloudFront accepts " + inProgressLimits +
			"; purge fewer paths or use a wildcard"
	case errors.As(err, &inconsistent), errors.As(err, &invalidArg), errors.As(err, &missingBody):
		return c.invalidRequest()
	}

	// then by the codes it has no type for (the codes every AWS service
	// shares are awserr's),
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchDistribution", "EntityNotFound":
			return c.noDistribution()
		case "NoSuchInvalidation":
			return c.noInvalidation()
		case "InvalidationBatchAlreadyExists":
			return purge.Conflict, fmt.Sprintf("caller reference %q was already used for other paths on "+
				"%s %s; CloudFront keeps the first request, so this one was not made",
				c.callerReference, c.kind(), c.distributionID)
		case "TooManyInvalidationsInProgress":
			return c.tooManyInProgress()
		case "InvalidArgument", "InconsistentQuantities", "BatchTooLarge", "MissingBody", "MalformedInput",
			"ValidationError", "ValidationException":
			return c.invalidRequest()
		}
	}

	// then by what happened before a request was sent,
	var (
		credsErr  *credentialsError
		paramsErr smithy.InvalidParamsError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return c.unavailable()
	case errors.As(err, &credsErr) && isAssumeRole(credsErr):
		return c.assumeRoleFailed()
	case errors.As(err, &credsErr):
		return c.unauthenticated()
	case errors.As(err, &paramsErr):
		return c.invalidRequest()
	}

	// and then as any AWS service's error.
	switch awserr.Of(err) {
	case awserr.Unauthenticated:
		return c.unauthenticated()
	case awserr.PermissionDenied:
		return c.permissionDenied()
	case awserr.Throttled:
		return c.throttled()
	case awserr.ServerError:
		return c.serverError()
	case awserr.NoAnswer, awserr.Unreachable:
		// Unreachable here is the last attempt's: an earlier one may have
		// been sent (see unreached).
		return c.unavailable()
	}
	return purge.Internal, "internal error"
}

func (c call) tooManyInProgress() (purge.Code, string) {
	return purge.RateLimited, fmt.Sprintf("%s %s has too many invalidations in progress: "+
		"CloudFront allows %s at once; try again when the running invalidations complete",
		c.kind(), c.distributionID, inProgressLimits)
}

// inProgressLimits words CloudFront's limits on the paths in progress per
// distribution.
var inProgressLimits = fmt.Sprintf("at most %s file paths and %d wildcard paths in progress",
	purge.Thousands(MaxFilePaths), MaxWildcardPaths)

func (c call) throttled() (purge.Code, string) {
	return purge.RateLimited, "CloudFront is limiting the rate of requests; try again in a minute"
}

// noDistribution is for NoSuchDistribution and, from the tenant operations,
// EntityNotFound.
func (c call) noDistribution() (purge.Code, string) {
	return purge.NotFound, fmt.Sprintf("CloudFront has no %s %s; check the %[1]s ID", c.kind(), c.distributionID)
}

func (c call) noInvalidation() (purge.Code, string) {
	return purge.NotFound, fmt.Sprintf("CloudFront has no invalidation %s on %s %s; check the invalidation ID",
		c.invalidationID, c.kind(), c.distributionID)
}

func (c call) permissionDenied() (purge.Code, string) {
	return purge.PermissionDenied, fmt.Sprintf("cdnpurge's IAM role lacks cloudfront:%s on %s %s; "+
		"ask an AWS administrator to allow it", c.op, c.kind(), c.distributionID)
}

func (c call) unauthenticated() (purge.Code, string) {
	return purge.Unauthenticated, awserr.CredentialsMessage
}

// isAssumeRole reports whether credentials failed in STS AssumeRole: a
// target in another account whose role_arn could not be assumed.
func isAssumeRole(err error) bool {
	var op *smithy.OperationError
	return errors.As(err, &op) && op.Service() == "STS" && op.Operation() == "AssumeRole"
}

func (c call) assumeRoleFailed() (purge.Code, string) {
	return purge.PermissionDenied, fmt.Sprintf("cdnpurge could not assume the IAM role (role_arn) of %s %s: "+
		"check that the role trusts cdnpurge's own role and that cdnpurge may call sts:AssumeRole on it", c.kind(), c.distributionID)
}

func (c call) invalidRequest() (purge.Code, string) {
	if c.creates() {
		return purge.Invalid, "CloudFront rejected the invalidation as invalid; check the paths: each must start " +
			"with /, have * only at the end, and there can be at most " + purge.Thousands(MaxFilePaths)
	}
	return purge.Invalid, fmt.Sprintf("CloudFront rejected the %s request as invalid", c.op)
}

// unreached says, in a few words, why the call never reached CloudFront, or
// "" when it may have: every attempt failed to connect (awserr.Reason). A
// failure to get credentials is not CloudFront's, even when it was STS that
// could not be reached.
func (c call) unreached(err error) string {
	var credsErr *credentialsError
	if c.reached || errors.As(err, &credsErr) {
		return ""
	}
	return awserr.Reason(err)
}

// unreachable is for a call that never reached CloudFront: nothing was done.
func (c call) unreachable(reason string) string {
	check := "check cdnpurge's network access to AWS"
	if c.endpoint.configured {
		check = "check CDNPURGE_CLOUDFRONT_ENDPOINT and the network"
	}
	if c.creates() {
		return fmt.Sprintf("CloudFront could not be reached at %s (%s): nothing was purged; %s", c.endpoint.base, reason, check)
	}
	return fmt.Sprintf("CloudFront could not be reached at %s (%s); %s", c.endpoint.base, reason, check)
}

// unavailable is for a call that got no answer in time (a deadline, a
// network failure): the request may have reached CloudFront.
func (c call) unavailable() (purge.Code, string) {
	if c.creates() {
		return purge.Unavailable, "CloudFront did not answer in time. The invalidation may have been created " +
			"all the same: check the recent invalidations before you try again"
	}
	return purge.Unavailable, "CloudFront did not answer in time; try again"
}

// serverError is for a call CloudFront answered with a server error (503
// ServiceUnavailable, other 5xx) on every attempt: it did not do the work.
func (c call) serverError() (purge.Code, string) {
	if c.creates() {
		return purge.Unavailable, "CloudFront is busy right now (it answered with a server error every time we tried); " +
			"nothing was created, try again in a moment"
	}
	return purge.Unavailable, "CloudFront is busy right now (it answered with a server error every time we tried); try again in a moment"
}
