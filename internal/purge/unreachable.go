package purge

import "errors"

// ErrUnreachable is in the chain of an error (errors.Is) when a request never
// reached the CDN: the connection was refused, the host is unknown, there is no
// route. Nothing was created. Its *Error has Code Unavailable.
var ErrUnreachable = errors.New("the CDN could not be reached")

// Unreachable reports whether err says the request never reached the CDN.
func Unreachable(err error) bool { return errors.Is(err, ErrUnreachable) }
