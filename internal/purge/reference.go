package purge

import "strings"

// Caller references name where an invalidation came from, so that CloudFront
// itself records who asked and who approved: cdnpurge keeps no database. A
// Slack reference is
//
//	cdnpurge-slack-{requester}-{token}              purged at once
//	cdnpurge-slack-{requester}+{approver}-{token}   purged on an approval click
//
// User IDs hold no "-" or "+" (Slack's are upper-case letters and digits;
// anything else is dropped); the token comes last and may hold anything.
const (
	slackReferencePrefix = "cdnpurge-slack-"
	cliReferencePrefix   = "cdnpurge-cli-"
)

// SlackCallerReference is the CallerReference of a purge asked for in Slack
// by userID. token identifies the request (Slack's trigger_id, or a hash of
// the signed delivery), so that a repeated delivery maps to the same
// reference and creates nothing new.
func SlackCallerReference(userID, token string) string {
	return slackReferencePrefix + referenceUser(userID) + "-" + token
}

// ApprovedCallerReference is the CallerReference of a purge that userID
// asked for and approverID approved with a click. A second click by the
// same person maps to the same reference; FindRequest finds the purge a
// click by anyone made for the same request (userID and token).
func ApprovedCallerReference(userID, approverID, token string) string {
	return slackReferencePrefix + referenceUser(userID) + "+" + referenceUser(approverID) + "-" + token
}

// referenceUser keeps the characters of a user ID that cannot be confused
// with the reference's separators.
func referenceUser(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '+' {
			return -1
		}
		return r
	}, id)
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
		users, _, ok := strings.Cut(strings.TrimPrefix(callerReference, slackReferencePrefix), "-")
		if !ok {
			return "slack", ""
		}
		user, _, _ := strings.Cut(users, "+")
		return "slack", user
	case strings.HasPrefix(callerReference, cliReferencePrefix):
		return "cli", ""
	}
	return "", ""
}

// Approver reads who approved a purge from its CallerReference: empty when
// it was purged at once, or not by cdnpurge.
func Approver(callerReference string) string {
	if !strings.HasPrefix(callerReference, slackReferencePrefix) {
		return ""
	}
	users, _, ok := strings.Cut(strings.TrimPrefix(callerReference, slackReferencePrefix), "-")
	if !ok {
		return ""
	}
	_, approver, _ := strings.Cut(users, "+")
	return approver
}

// SameRequest reports whether callerReference was made for the Slack request
// of userID identified by token, purged at once or approved by anyone.
func SameRequest(callerReference, userID, token string) bool {
	rest, ok := strings.CutPrefix(callerReference, slackReferencePrefix+referenceUser(userID))
	if !ok {
		return false
	}
	if rest, ok = strings.CutSuffix(rest, "-"+token); !ok {
		return false
	}
	if rest == "" {
		return true
	}
	approver, ok := strings.CutPrefix(rest, "+")
	return ok && approver != "" && !strings.ContainsAny(approver, "-+")
}
