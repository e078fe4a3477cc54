# Renders LAVA device dictionaries exactly as LAVA 2023's server does
# (lava_scheduler_app/environment.py: a sandboxed Jinja2 environment over the devices and
# device-type directories, trim_blocks, no autoescape) with Debian's python3-jinja2, and reads
# the result with python3-yaml as LAVA does (yaml.safe_load). Input on stdin, JSON:
#   {"dirs": [DIR, ...], "renders": [{"template": "NAME.jinja2", "context": {...}}, ...]}
# Output on stdout, JSON: one {"text", "data"} or {"error"} per render, in order.
import json
import sys

import yaml
from jinja2 import FileSystemLoader
from jinja2.sandbox import SandboxedEnvironment

request = json.load(sys.stdin)
env = SandboxedEnvironment(
    loader=FileSystemLoader(request["dirs"]),
    autoescape=False,
    trim_blocks=True,
    cache_size=-1,
)
out = []
for r in request["renders"]:
    try:
        text = env.get_template(r["template"]).render(**r["context"])
        out.append({"text": text, "data": yaml.safe_load(text)})
    except Exception as e:  # noqa: BLE001 - every failure is reported to the Rust side
        out.append({"error": "%s: %s" % (type(e).__name__, e)})
json.dump(out, sys.stdout, default=str)
