package testutil

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// emfUnits are the units CloudWatch's embedded metric format allows.
var emfUnits = []string{
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
	"Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
	"Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}

// MustEMF parses line as a CloudWatch Embedded Metric Format document and
// checks it against the specification: a JSON object whose _aws member has
// a Timestamp and metric directives (Namespace, Dimensions: sets of at most
// 30 keys naming string members, Metrics: at most 100, each naming a
// member that is a number or an array of at most 100 numbers, with a known
// Unit), and nothing else in the objects the specification defines. It
// returns the document's members. It is written here because no Go library
// checks a document against the specification.
func MustEMF(tb testing.TB, line []byte) map[string]any {
	tb.Helper()
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		tb.Fatalf("EMF: not a JSON object: %v: %s", err, line)
	}
	var meta struct {
		Timestamp         *int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct {
				Name string
				Unit string
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(root["_aws"]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		tb.Fatalf("EMF: _aws: %v: %s", err, line)
	}
	if meta.Timestamp == nil || *meta.Timestamp <= 0 {
		tb.Fatalf("EMF: no Timestamp: %s", line)
	}
	if len(meta.CloudWatchMetrics) == 0 {
		tb.Fatalf("EMF: no CloudWatchMetrics: %s", line)
	}
	var members map[string]any
	if err := json.Unmarshal(line, &members); err != nil {
		tb.Fatal(err)
	}
	for _, d := range meta.CloudWatchMetrics {
		if n := len(d.Namespace); n == 0 || n > 1024 {
			tb.Errorf("EMF: namespace %q", d.Namespace)
		}
		for _, set := range d.Dimensions {
			if len(set) > 30 {
				tb.Errorf("EMF: a dimension set of %d keys", len(set))
			}
			for _, k := range set {
				if v, ok := members[k].(string); !ok || len(v) == 0 || len(v) > 1024 {
					tb.Errorf("EMF: dimension %q is %v, want a string member", k, members[k])
				}
			}
		}
		if len(d.Metrics) == 0 || len(d.Metrics) > 100 {
			tb.Errorf("EMF: %d metrics in a directive", len(d.Metrics))
		}
		for _, m := range d.Metrics {
			if m.Unit != "" && !slices.Contains(emfUnits, m.Unit) {
				tb.Errorf("EMF: %s: unit %q", m.Name, m.Unit)
			}
			switch v := members[m.Name].(type) {
			case float64:
			case []any:
				if len(v) == 0 || len(v) > 100 {
					tb.Errorf("EMF: %s has %d values", m.Name, len(v))
				}
				for _, x := range v {
					if _, ok := x.(float64); !ok {
						tb.Errorf("EMF: %s: value %v is not a number", m.Name, x)
					}
				}
			default:
				tb.Errorf("EMF: metric %s is %v, want a number member", m.Name, members[m.Name])
			}
		}
	}
	return members
}
