package emulator

import (
	"fmt"
	"net/http"
)

// The error codes the emulator answers with. All but the last two are
// CloudFront's own; NotFound and MethodNotAllowed stand in for whatever
// CloudFront's front door says about a route or method it does not serve.
const (
	codeNoSuchDistribution             = "NoSuchDistribution"
	codeEntityNotFound                 = "EntityNotFound"
	codeNoSuchInvalidation             = "NoSuchInvalidation"
	codeMissingBody                    = "MissingBody"
	codeMalformedInput                 = "MalformedInput"
	codeInconsistentQuantities         = "InconsistentQuantities"
	codeInvalidArgument                = "InvalidArgument"
	codeInvalidationBatchAlreadyExists = "InvalidationBatchAlreadyExists"
	codeBatchTooLarge                  = "BatchTooLarge"
	codeTooManyInvalidationsInProgress = "TooManyInvalidationsInProgress"
	codeNotFound                       = "NotFound"
	codeMethodNotAllowed               = "MethodNotAllowed"
)

// apiError is a failure the emulator reports to the client as a CloudFront
// ErrorResponse. Status, Code and Message go on the wire; err, when set, is
// detail for the operator's log only. A later fault-injection option (503
// ServiceUnavailable, Throttling) produces these too.
type apiError struct {
	status  int
	code    string
	message string
	allow   string // the Allow header of a MethodNotAllowed answer
	err     error
}

func (e *apiError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%s (%d): %s: %v", e.code, e.status, e.message, e.err)
	}
	return fmt.Sprintf("%s (%d): %s", e.code, e.status, e.message)
}

func (e *apiError) Unwrap() error { return e.err }

// errorType is the ErrorResponse Type: Sender for the client's mistakes,
// Receiver for the service's.
func (e *apiError) errorType() string {
	if e.status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// wrap attaches operator detail to e and returns it.
func (e *apiError) wrap(err error) *apiError {
	e.err = err
	return e
}

// errNotFound is CloudFront's answer for a distribution that does not exist,
// NoSuchDistribution, or for a distribution tenant, EntityNotFound: the
// tenant operations know no NoSuchDistribution (API reference,
// CreateInvalidationForDistributionTenant "Errors"). Both are 404.
func errNotFound(res resource) *apiError {
	if res.kind == kindTenant {
		return newAPIError(http.StatusNotFound, codeEntityNotFound,
			"The specified distribution tenant does not exist: %s", res.id)
	}
	return newAPIError(http.StatusNotFound, codeNoSuchDistribution,
		"The specified distribution does not exist: %s", res.id)
}

func errNoSuchInvalidation(id string) *apiError {
	return newAPIError(http.StatusNotFound, codeNoSuchInvalidation,
		"The specified invalidation does not exist: %s", id)
}

func errInvalidArgument(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, codeInvalidArgument, format, args...)
}

func errMalformedInput(err error) *apiError {
	return newAPIError(http.StatusBadRequest, codeMalformedInput,
		"Could not parse the request body as an InvalidationBatch document.").wrap(err)
}
