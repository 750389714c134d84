package emulator_test

import (
	"encoding/xml"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// Serve the emulator on loopback and create an invalidation with a plain
// HTTP request. An AWS SDK client or the AWS CLI pointed at srv.URL (as
// BaseEndpoint or --endpoint-url) sends the same request.
func Example() {
	e := emulator.New(emulator.Options{
		Distributions: []string{"EDFDVBD6EXAMPLE"},
		CompleteAfter: 30 * time.Second,
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	body := `<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">` +
		`<CallerReference>deploy-42</CallerReference>` +
		`<Paths><Quantity>2</Quantity><Items><Path>/index.html</Path><Path>/blog/*</Path></Items></Paths>` +
		`</InvalidationBatch>`
	resp, err := http.Post(srv.URL+"/2020-05-31/distribution/EDFDVBD6EXAMPLE/invalidation",
		"application/xml", strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()

	var inv struct {
		ID     string `xml:"Id"`
		Status string `xml:"Status"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&inv); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status)
	fmt.Println(inv.Status, len(inv.ID))
	// Output:
	// 201 Created
	// InProgress 14
}
