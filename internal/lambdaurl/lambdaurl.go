// Package lambdaurl serves Lambda Function URL events (payload format 2.0,
// BUFFERED invoke mode) with an ordinary http.Handler, so that the Lambda
// answers exactly as `cdnpurge serve` does.
//
// aws-lambda-go has its own lambdaurl package, but it only produces
// streaming responses (InvokeMode RESPONSE_STREAM). The tutorial's stack, and
// ours, use BUFFERED, which returns a LambdaFunctionURLResponse; this small
// adapter does that, using aws-lambda-go's event types.
package lambdaurl

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Handler is the function lambda.Start runs.
type Handler func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error)

// Wrap adapts h to Function URL events. A base64-encoded body
// (isBase64Encoded, as Function URLs send form posts) is decoded before h
// sees it, so a signature is checked over the bytes the client sent.
func Wrap(h http.Handler) Handler {
	return func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			return events.LambdaFunctionURLResponse{StatusCode: http.StatusBadRequest, Body: "Bad Request\n",
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}, nil
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return Response(rec.Result().StatusCode, rec.Header(), rec.Body.Bytes()), nil
	}
}

// Request builds the http.Request an event describes.
func Request(ctx context.Context, ev events.LambdaFunctionURLRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("function URL event: body is not base64: %w", err)
		}
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("function URL event: no HTTP method")
	}
	path := ev.RawPath
	if path == "" {
		path = "/"
	}
	u := &url.URL{Path: path, RawQuery: ev.RawQueryString}
	if p, err := url.PathUnescape(path); err == nil {
		u.Path, u.RawPath = p, path
	}
	// The URL is set as built, not parsed back from a string: parsing would
	// read a path starting with "//" as a host and a "#" in the query as a
	// fragment, so the handler would route on another path than serve does.
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("function URL event: %w", err)
	}
	req.URL = u
	for k, v := range ev.Headers {
		// Function URLs join repeated headers with commas into one value.
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = ev.RequestContext.DomainName
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.RequestURI = u.RequestURI()
	req.ContentLength = int64(len(body))
	return req, nil
}

// Response builds the BUFFERED response for what a handler wrote. Text
// bodies (text/*, JSON, XML, form) in valid UTF-8 travel as they are;
// anything else is base64-encoded.
func Response(status int, header http.Header, body []byte) events.LambdaFunctionURLResponse {
	resp := events.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{}}
	for k, vs := range header {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ",")
	}
	// The response reaches Lambda as JSON, which would replace invalid
	// UTF-8: such a body travels base64-encoded whatever its type.
	if (isText(header.Get("Content-Type")) && utf8.Valid(body)) || len(body) == 0 {
		resp.Body = string(body)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(body)
		resp.IsBase64Encoded = true
	}
	return resp
}

func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/xml" ||
		mt == "application/x-www-form-urlencoded" || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}
