"""The tutorial's Lambda, reconstructed: a Slack slash command's Function URL
handler that checks Slack's signature and the channel, purges one CloudFront
distribution, and posts to an incoming webhook. cdnpurge started as this;
scripts/coldstart -compare measures it beside cdnpurge's Go bootstrap.

Environment: the stack's four parameters, DISTRIBUTION_ID, SIGNING_KEY,
SLACK_CHANNEL and SLACK_URL (optional), and AWS_ENDPOINT_URL_CLOUDFRONT for
a local CloudFront API (moto_server).
"""
import base64
import hashlib
import hmac
import json
import os
import time
import urllib.parse
import urllib.request

import boto3

cloudfront = boto3.client("cloudfront")


def handler(event, context):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = event.get("headers") or {}
    ts = headers.get("x-slack-request-timestamp", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return {"statusCode": 401}
    basestring = f"v0:{ts}:{body}".encode()
    mine = "v0=" + hmac.new(os.environ["SIGNING_KEY"].encode(), basestring, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mine, headers.get("x-slack-signature", "")):
        return {"statusCode": 401}
    form = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
    if os.environ["SLACK_CHANNEL"] not in (form.get("channel_id"), form.get("channel_name")):
        return {"statusCode": 200, "body": json.dumps({"text": "Not from this channel."})}
    paths = form.get("text", "").split() or ["/*"]
    out = cloudfront.create_invalidation(
        DistributionId=os.environ["DISTRIBUTION_ID"],
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": form.get("trigger_id") or str(time.time()),
        },
    )
    text = f"<@{form.get('user_id')}> started invalidation {out['Invalidation']['Id']}: {' '.join(paths)}"
    if os.environ.get("SLACK_URL"):
        post = urllib.request.Request(os.environ["SLACK_URL"], json.dumps({"text": text}).encode(),
                                      {"Content-Type": "application/json"})
        urllib.request.urlopen(post, timeout=3).read()
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"response_type": "in_channel", "text": text})}
