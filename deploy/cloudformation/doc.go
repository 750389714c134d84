// Package cloudformation holds the CloudFormation template that deploys
// cdnpurge as a Lambda behind a public Function URL (the tutorial's stack,
// with the same parameters: DistributionId, SigningKey, SlackChannel and
// SlackUrl), and exists so that the template is tested like code: its tests
// check the security-relevant properties (least-privilege IAM, NoEcho
// secrets, the public URL's two permissions) and run cfn-lint on it.
//
// Optional parameters add targets: a targets file (TargetsConfig inline, or
// TargetsConfigFile in the zip), the distributions, distribution tenants and
// cross-account roles it names (AdditionalDistributionIds,
// DistributionTenantIds, AssumeRoleArns), each granted on exactly its ARNs,
// and SlackBotToken for user-group restrictions. Left empty, the stack is
// the tutorial's, with the same permissions. The tests evaluate the
// template for sample parameter values (resolve_test.go) and check what each
// deployment grants and sets.
//
// Deploy it with the AWS CLI from the module root:
//
//	go run ./deploy/build
//	aws s3 cp function.zip s3://BUCKET/cdnpurge/function.zip
//	aws cloudformation deploy --template-file deploy/cloudformation/template.yaml \
//	    --stack-name cdnpurge --capabilities CAPABILITY_IAM --parameter-overrides ...
package cloudformation

import _ "embed"

// Template is the CloudFormation template, template.yaml, as written (YAML
// with the short intrinsic-function tags !Ref, !Sub, !GetAtt...), for tools
// that deploy or inspect the stack from Go.
//
//go:embed template.yaml
var Template []byte
