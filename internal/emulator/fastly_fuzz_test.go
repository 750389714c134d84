package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cdnpurge/cdnpurge/internal/emulator"
)

// FuzzFastlyPurge sends arbitrary paths, Surrogate-Key headers and bodies
// to the emulator's Fastly API and checks its answers: a known status with
// Fastly's JSON, never a server error, and a purge recorded only when it
// answered 200, with at most 256 keys, none empty or holding white space.
func FuzzFastlyPurge(f *testing.F) {
	f.Add("/service/"+testService+"/purge", "", `{"surrogate_keys":["a","b"]}`)
	f.Add("/service/"+testService+"/purge", "a b\tc", "")
	f.Add("/service/"+testService+"/purge", "", `{"surrogate_keys":["", " "]}`)
	f.Add("/service/"+testService+"/purge", "", `{"surrogate_keys":"a"}`)
	f.Add("/service/"+testService+"/purge", "", keysBody(fastlyKeys(257)))
	f.Add("/service/"+testService+"/purge/k%20ey", "", "")
	f.Add("/service/"+testService+"/purge_all", "", "")
	f.Add("/service/%zz/purge", "", "")
	f.Add("/purge/www.example.com/a%2Fb?q=1", "", "")
	f.Add("/purge/", "", "")
	f.Add("/purge//x", "", "")
	f.Fuzz(func(t *testing.T, path, surrogateKey, body string) {
		e := emulator.New(emulator.Options{FastlyServices: []string{testService}})
		req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1"+path, strings.NewReader(body))
		if err != nil || !strings.HasPrefix(path, "/") {
			return
		}
		req.Header.Set("Fastly-Key", testFastlyToken)
		req.Header.Set("Surrogate-Key", surrogateKey)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Header().Get("Content-Type") != "application/json" {
			return // not a Fastly route
		}
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("POST %q: status %d: %s", path, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("POST %q: answer is not JSON: %q", path, rec.Body)
		}
		var purges []emulator.FastlyPurge
		for _, svc := range []string{"", testService} {
			purges = append(purges, e.FastlyPurges(svc)...)
		}
		if rec.Code != http.StatusOK {
			if len(purges) > 0 {
				t.Fatalf("POST %q: %d, yet recorded %+v", path, rec.Code, purges)
			}
			return
		}
		if len(purges) != 1 {
			t.Fatalf("POST %q: 200, recorded %+v", path, purges)
		}
		p := purges[0]
		if p.Kind == emulator.FastlyKindKeys && (len(p.Items) == 0 || len(p.Items) > emulator.FastlyMaxKeys) {
			t.Fatalf("POST %q: %d keys recorded", path, len(p.Items))
		}
		for _, k := range p.Items {
			if k == "" || p.Kind == emulator.FastlyKindKeys && strings.ContainsAny(k, " \t\r\n\v\f") {
				t.Fatalf("POST %q: item %q recorded", path, k)
			}
		}
	})
}
