package purge

import "strings"

// Caller references name where an invalidation came from, so that CloudFront
// itself records who asked: cdnpurge keeps no database. The user ID comes
// before the token and holds no "-"; the token comes last and may hold
// anything.
const (
	slackReferencePrefix = "cdnpurge-slack-"
	cliReferencePrefix   = "cdnpurge-cli-"
)

// SlackCallerReference is the CallerReference of a purge asked for in Slack
// by userID. token identifies the request (Slack's trigger_id, or a hash of
// the signed delivery), so that a repeated delivery maps to the same
// reference and creates nothing new.
func SlackCallerReference(userID, token string) string {
	return slackReferencePrefix + strings.ReplaceAll(userID, "-", "") + "-" + token
}

// CLICallerReference is the CallerReference of a purge from the command line;
// token is random, or a pipeline's own ID to make retries idempotent.
func CLICallerReference(token string) string { return cliReferencePrefix + token }

// Requester reads a CallerReference: the source ("slack" or "cli") and, for
// Slack, the user who asked. Both are empty for references cdnpurge did not
// make (the console, other tools).
func Requester(callerReference string) (source, userID string) {
	switch {
	case strings.HasPrefix(callerReference, slackReferencePrefix):
		user, _, ok := strings.Cut(strings.TrimPrefix(callerReference, slackReferencePrefix), "-")
		if !ok {
			return "slack", ""
		}
		return "slack", user
	case strings.HasPrefix(callerReference, cliReferencePrefix):
		return "cli", ""
	}
	return "", ""
}
