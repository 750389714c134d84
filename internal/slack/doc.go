// Package slack is cdnpurge's side of Slack: it verifies request signatures,
// reads slash commands, renders the Block Kit replies the channel sees, and
// delivers messages to incoming webhooks and response_url.
//
// The wire work is done by github.com/slack-go/slack (imported as slackapi);
// this package adds what cdnpurge decides: which URLs may receive a message,
// how errors are kept free of secrets, and what the messages say.
package slack
