#!/usr/bin/env python3
"""A process-pool child (docs/process-pool-protocol.md, jsonl-1): squares whole numbers.

One JSON request per line on stdin, one JSON answer per line on stdout, flushed; logs on stderr.
Try it without a cluster:
    echo '{"id":1,"attempt":1,"input":"12"}' | python3 k8s/examples/python/square.py
"""
import json
import os
import sys

# Anything expensive (a model, a connection) is loaded here, once per child, before the loop.
if os.environ.get("TASKBATCH_PROTOCOL", "jsonl-1") != "jsonl-1":
    print(f"square.py speaks jsonl-1, not {os.environ['TASKBATCH_PROTOCOL']}", file=sys.stderr)


def square(text):
    n = int(text.strip())  # Python ints have no size limit, like the square builtin
    return f"{n} * {n} = {n * n}"


for line in sys.stdin:  # EOF on stdin means shut down: the loop ends and so does the child
    request = json.loads(line)
    try:
        answer = {"id": request["id"], "output": square(request["input"])}
    except Exception as e:  # a failed task, not a failed child
        print(f"task {request['id']} attempt {request.get('attempt')}: {e!r}", file=sys.stderr)
        answer = {"id": request["id"], "error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()  # stdout is a pipe: an answer left in a buffer never arrives
