package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// refCloudflareKinds decodes a purge body independently of the emulator and
// returns the list kinds present (non-null) and whether purge_everything
// is, to judge the bodies it accepts.
func refCloudflareKinds(body []byte) (lists map[string][]json.RawMessage, everything *bool, ok bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil || fields == nil {
		return nil, nil, false
	}
	lists = map[string][]json.RawMessage{}
	for _, k := range []string{"files", "tags", "hosts", "prefixes"} {
		v, present := fields[k]
		if !present || string(v) == "null" {
			continue
		}
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil {
			return nil, nil, false
		}
		lists[k] = items
	}
	if v, present := fields["purge_everything"]; present && string(v) != "null" {
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return nil, nil, false
		}
		everything = &b
	}
	return lists, everything, true
}

// FuzzCloudflarePurgeBody sends arbitrary bodies to purge_cache: every
// answer is Cloudflare's envelope with 200 or 400, and a body accepted names
// exactly one kind, with 1 to 100 items, recorded as sent.
func FuzzCloudflarePurgeBody(f *testing.F) {
	for _, seed := range []string{
		`{"files":["https://www.example.com/a","http://www.example.com/b?c=1"]}`,
		`{"files":[{"url":"https://www.example.com/cat.jpg","headers":{"CF-IPCountry":"US"}}]}`,
		`{"tags":["a","b"]}`, `{"hosts":["www.example.com"]}`, `{"prefixes":["www.example.com/foo"]}`,
		`{"purge_everything":true}`, `{"purge_everything":false}`, `{}`, `[]`, `null`, `{"files":[]}`,
		`{"files":["/a"]}`, `{"prefixes":["https://www.example.com/a"]}`, `{"tags":["x"],"hosts":["y"]}`,
		`{"files":null,"purge_everything":true}`, `{"tags":[1]}`, `{"files":[{"url":null}]}`, `{"a":1} x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e := emulator.New(emulator.Options{CloudflareZones: []string{cloudflareTestZone}})
		req := httptest.NewRequest(http.MethodPost, purgePath, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+cloudflareTestToken)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		env := mustEnvelope(t, rec.Result())
		purges := e.CloudflarePurges(cloudflareTestZone)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest:
			if *env.Success || len(env.Errors) != 1 || env.Errors[0].Code == 0 || len(purges) != 0 {
				t.Fatalf("400 with success %v, errors %+v, purges %+v", *env.Success, env.Errors, purges)
			}
			return
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		lists, everything, ok := refCloudflareKinds(body)
		if !ok || !*env.Success || len(purges) != 1 {
			t.Fatalf("accepted %q (reference decodes: %v), success %v, purges %+v", body, ok, *env.Success, purges)
		}
		p := purges[0]
		switch {
		case everything != nil:
			if !*everything || len(lists) != 0 || p.Kind != "everything" {
				t.Fatalf("accepted %q as %+v", body, p)
			}
		case len(lists) != 1:
			t.Fatalf("accepted %q with %d kinds", body, len(lists))
		default:
			items := lists[p.Kind]
			if len(items) == 0 || len(items) > 100 || len(p.Items) != len(items) {
				t.Fatalf("accepted %q as %+v: %d items sent", body, p, len(items))
			}
			for _, it := range p.Items {
				if p.Kind == "prefixes" && strings.Contains(it, "://") {
					t.Fatalf("accepted prefix %q with a scheme", it)
				}
				if lower := strings.ToLower(it); p.Kind == "files" && !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
					t.Fatalf("accepted file %q that is not an absolute URL", it)
				}
			}
		}
	})
}
