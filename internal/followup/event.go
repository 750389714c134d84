package followup

import (
	"encoding/json"
	"errors"
	"fmt"
)

// eventKey names the follow-up in a Lambda invocation payload. Function URL
// events never carry it, so one handler can tell the two apart.
const eventKey = "cdnpurge_followup"

// Event is the payload of the Lambda's asynchronous self-invocation.
type Event struct {
	Followup *Request `json:"cdnpurge_followup"`
	// Hop counts the invocations this follow-up has run in, each up to the
	// function's timeout; it dedupes repeated deliveries per hop.
	Hop int `json:"hop"`
}

// MarshalEvent encodes req as the payload of hop number hop.
func MarshalEvent(req Request, hop int) ([]byte, error) {
	return json.Marshal(Event{Followup: &req, Hop: hop})
}

// ParseEvent reads a Lambda payload. ok is false when the payload is not a
// follow-up (a Function URL event); err is set when it is one but broken.
func ParseEvent(raw []byte) (ev Event, ok bool, err error) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(raw, &probe) != nil {
		return Event{}, false, nil
	}
	if _, ok := probe[eventKey]; !ok {
		return Event{}, false, nil
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return Event{}, true, fmt.Errorf("follow-up event: %w", err)
	}
	if ev.Followup == nil {
		return Event{}, true, errors.New("follow-up event: " + eventKey + " is null")
	}
	if err := ev.Followup.Validate(); err != nil {
		return Event{}, true, err
	}
	return ev, true, nil
}
