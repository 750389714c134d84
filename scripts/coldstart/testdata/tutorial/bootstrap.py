"""A minimal Lambda runtime for Python handlers, speaking the Lambda Runtime
API (GET /2018-06-01/runtime/invocation/next, then POST .../response or
.../error) with urllib. It stands in for awslambdaric, the Python runtime
interface client that Lambda's python3.x runtimes run, which is not
installed here (and PyPI is out of reach): like it, it imports the handler
named by _HANDLER (module.function) once, then serves invocations one at a
time. It has none of awslambdaric's extras (logging set-up, X-Ray, a full
context object), so it is if anything lighter than the real runtime.
"""
import importlib
import json
import os
import sys
import time
import traceback
import urllib.request


class Context:
    """The few fields of Lambda's context object a handler commonly reads."""

    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def error_body(e):
    return {"errorMessage": str(e), "errorType": type(e).__name__,
            "stackTrace": traceback.format_exception(e)}


def main():
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, no proxy

    def post(path, value):
        req = urllib.request.Request(api + path, json.dumps(value).encode(), {"Content-Type": "application/json"})
        opener.open(req).read()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    module, _, function = os.environ.get("_HANDLER", "tutorial.handler").rpartition(".")
    try:
        handler = getattr(importlib.import_module(module), function)
    except Exception as e:
        post("/init/error", error_body(e))
        sys.exit(1)
    while True:
        with opener.open(api + "/invocation/next") as resp:  # waits for the next event
            headers = resp.headers
            event = json.loads(resp.read())
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        try:
            result = handler(event, Context(headers))
        except Exception as e:
            post(f"/invocation/{request_id}/error", error_body(e))
            continue
        post(f"/invocation/{request_id}/response", result)


if __name__ == "__main__":
    main()
