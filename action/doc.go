// Package action holds the cdnpurge GitHub Action's script, run.sh, which
// the composite action at the repository root (action.yml) runs after it
// has built cdnpurge, and the tests that run that script with bash against
// the CloudFront emulator, lint the workflows with actionlint and check
// that action.yml hands every input to the script. It has no Go API.
package action
