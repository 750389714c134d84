package varnishcdn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cdnpurge/cdnpurge/internal/awserr"
	"github.com/cdnpurge/cdnpurge/internal/purge"
)

// wrap adds the call to err, for the operator's log: the endpoint (never
// the user info of Options.URL), the method, the path and the Host.
func (p *Provider) wrap(c call, err error) error {
	return fmt.Errorf("varnish %s: %s %s (Host %s): %w", p.endpoint, c.method, c.path, c.host, err)
}

// failed is for a call that went wrong on cdnpurge's side.
func (p *Provider) failed(c call, err error) error {
	return &purge.Error{Code: purge.Internal, Message: "internal error", Err: p.wrap(c, err)}
}

// sendFailed classifies an error of the HTTP client: refused (nothing was
// purged), or no answer (the purge may have been made).
func (p *Provider) sendFailed(c call, err error) error {
	// *url.Error repeats the request's URL, user info included; the
	// endpoint in wrap says where it went.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	// awserr.Reason reads the net package's errors; nothing in it is AWS's.
	if reason := awserr.Reason(err); reason != "" {
		return &purge.Error{
			Code: purge.Unavailable,
			Message: fmt.Sprintf("Varnish could not be reached at %s (%s): nothing was purged; "+
				"check the target's url and the network", p.endpoint, reason),
			Err: p.wrap(c, fmt.Errorf("%w: %w", purge.ErrUnreachable, err)),
		}
	}
	msg := fmt.Sprintf("Varnish at %s did not answer; the purge may have been made all the same "+
		"(purging again is harmless)", p.endpoint)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		msg = fmt.Sprintf("Varnish at %s did not answer in time; the purge may have been made all the same "+
			"(purging again is harmless)", p.endpoint)
	}
	return &purge.Error{Code: purge.Unavailable, Message: msg, Err: p.wrap(c, err)}
}

// answer checks what Varnish answered to c: 200 with cdnpurge.vcl's result
// header, or an error classified by the status.
func (p *Provider) answer(c call, resp *http.Response) error {
	status := fmt.Errorf("answered %s", resp.Status)
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		if err := checkResult(c.method, resp.Header); err != nil {
			return &purge.Error{
				Code: purge.Internal,
				Message: fmt.Sprintf("Varnish at %s answered without cdnpurge.vcl's result, so the purge may not "+
					"have been made: check that deploy/varnish/cdnpurge.vcl is loaded", p.endpoint),
				Err: p.wrap(c, fmt.Errorf("%w: %w", status, err)),
			}
		}
		return nil
	case code == http.StatusForbidden, code == http.StatusMethodNotAllowed:
		return &purge.Error{
			Code: purge.PermissionDenied,
			Message: fmt.Sprintf("Varnish at %s refused the purge (%d): the address cdnpurge sends from is not "+
				"in acl purgers of cdnpurge.vcl; add it there (see deploy/varnish/README.md)", p.endpoint, code),
			Err: p.wrap(c, status),
		}
	case code >= 500:
		return &purge.Error{
			Code:    purge.Unavailable,
			Message: fmt.Sprintf("Varnish at %s answered with a server error (%d); try again in a moment", p.endpoint, code),
			Err:     p.wrap(c, status),
		}
	}
	return &purge.Error{Code: purge.Internal, Message: "internal error", Err: p.wrap(c, status)}
}

// checkResult checks the result header cdnpurge.vcl puts on its answer to
// a method: X-Cdnpurge-Purged (a count) for PURGE, X-Cdnpurge-Banned: 1 for
// BAN. An answer without it did not come from cdnpurge.vcl (the VCL is not
// loaded and the request went to the origin, say).
func checkResult(method string, h http.Header) error {
	if method == "BAN" {
		if v := h.Get(headerBanned); v != "1" {
			return fmt.Errorf("%s: %q, want 1", headerBanned, v)
		}
		return nil
	}
	_, err := parsePurged(h.Values(headerPurged))
	return err
}

// parsePurged reads X-Cdnpurge-Purged: one header, a count of objects in
// decimal, no sign.
func parsePurged(values []string) (int, error) {
	if len(values) != 1 {
		return 0, fmt.Errorf("%s: %d headers, want 1", headerPurged, len(values))
	}
	n, err := strconv.ParseUint(values[0], 10, 31)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a count", headerPurged, values[0])
	}
	return int(n), nil
}

// partial is err, of the request after made of total, when made > 0: it
// wraps purge.ErrPartial, keeps err's code, and drops purge.ErrUnreachable,
// since the requests before it did reach Varnish.
func partial(err error, made, total int) error {
	var e *purge.Error
	if !errors.As(err, &e) {
		e = &purge.Error{Code: purge.Internal, Message: "internal error", Err: err}
	}
	return &purge.Error{
		Code:    e.Code,
		Message: fmt.Sprintf("%s. %d of the %d requests had been made: what they purged is done", e.Message, made, total),
		Err:     fmt.Errorf("%w after %d of %d requests: %v", purge.ErrPartial, made, total, e.Err),
	}
}
