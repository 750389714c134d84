package emulator

import (
	"encoding/xml"
	"time"
)

// The wire format of CloudFront API version 2020-05-31, as documented in the
// Amazon CloudFront API Reference (CreateInvalidation, GetInvalidation,
// ListInvalidations, InvalidationBatch, InvalidationList, Common Errors). The
// distribution-tenant twins of the three operations exchange the same
// documents.
// aws-sdk-go-v2 generates only the client half of this protocol (serializers
// for requests, deserializers for responses), so the server half is written
// here with encoding/xml struct types.

const (
	// apiVersion is the path prefix of every CloudFront API route.
	apiVersion = "2020-05-31"
	// xmlNamespace is the default namespace of every CloudFront document.
	xmlNamespace = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
	// timeFormat is how CloudFront writes CreateTime: ISO 8601 in UTC with
	// milliseconds, e.g. 2019-12-05T18:24:51.407Z.
	timeFormat = "2006-01-02T15:04:05.000Z"
	// errorHeader is the XML declaration CloudFront puts on error documents.
	errorHeader = `<?xml version="1.0"?>` + "\n"
)

// batchRequest is the body of CreateInvalidation as a client sends it. Its
// optional parts are pointers so that a missing element can be told from an
// empty one.
type batchRequest struct {
	XMLName         xml.Name      `xml:"InvalidationBatch"`
	CallerReference string        `xml:"CallerReference"`
	Paths           *pathsRequest `xml:"Paths"`
}

type pathsRequest struct {
	Quantity *string       `xml:"Quantity"`
	Items    *itemsRequest `xml:"Items"`
}

type itemsRequest struct {
	Path []string `xml:"Path"`
}

// invalidationXML is the Invalidation document that CreateInvalidation and
// GetInvalidation return.
type invalidationXML struct {
	XMLName           xml.Name `xml:"http://cloudfront.amazonaws.com/doc/2020-05-31/ Invalidation"`
	ID                string   `xml:"Id"`
	Status            string   `xml:"Status"`
	CreateTime        string   `xml:"CreateTime"`
	InvalidationBatch batchXML `xml:"InvalidationBatch"`
}

type batchXML struct {
	Paths           pathsXML `xml:"Paths"`
	CallerReference string   `xml:"CallerReference"`
}

type pathsXML struct {
	Quantity int      `xml:"Quantity"`
	Items    []string `xml:"Items>Path"`
}

// invalidationListXML is the InvalidationList document of ListInvalidations.
// NextMarker appears only when IsTruncated is true; Items only when the page
// is not empty.
type invalidationListXML struct {
	XMLName     xml.Name     `xml:"http://cloudfront.amazonaws.com/doc/2020-05-31/ InvalidationList"`
	Marker      string       `xml:"Marker"`
	NextMarker  string       `xml:"NextMarker,omitempty"`
	MaxItems    int          `xml:"MaxItems"`
	IsTruncated bool         `xml:"IsTruncated"`
	Quantity    int          `xml:"Quantity"`
	Items       *summaryList `xml:"Items,omitempty"`
}

type summaryList struct {
	Summaries []summaryXML `xml:"InvalidationSummary"`
}

type summaryXML struct {
	ID         string `xml:"Id"`
	CreateTime string `xml:"CreateTime"`
	Status     string `xml:"Status"`
}

// errorResponseXML is CloudFront's error document:
//
//	<ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code>..</Code>
//	<Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>
type errorResponseXML struct {
	XMLName   xml.Name `xml:"http://cloudfront.amazonaws.com/doc/2020-05-31/ ErrorResponse"`
	Error     errorXML `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type errorXML struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// formatTime writes t the way CloudFront writes CreateTime.
func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }
