// Package slack is cdnpurge's side of Slack: it verifies request signatures,
// reads slash commands, renders the Block Kit replies the channel sees, and
// delivers messages to incoming webhooks and response_url.
//
// The replies are data (Reply and its types, in reply.go): internal/service
// returns them and Render words them, so that every transport answers with
// the same message. They are defined here, not in the service, because the
// service imports this package to deliver and to seal approval requests; a
// package that renders the service's own types would have to import it
// back. Only this package writes mrkdwn: access's refusals arrive as data
// too (access.Refusal), and are worded here (refusal.go); for that this
// package imports access, and access imports no Slack package.
//
// The wire work is done by github.com/slack-go/slack (imported as slackapi);
// this package adds what cdnpurge decides: which URLs may receive a message,
// how errors are kept free of secrets, and what the messages say.
package slack
