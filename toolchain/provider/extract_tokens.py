"""Write tokens.txt: every resource and function token of the pinned pulumi-openstack Python SDK.

The provider built here (main.go) maps the Terraform provider's resources onto exactly these
tokens, so the pinned SDK and the plugin agree. Run with the project's venv:
    .venv/bin/python toolchain/provider/extract_tokens.py > toolchain/provider/tokens.txt
"""

import json
import pathlib
import re

import pulumi_openstack

root = pathlib.Path(pulumi_openstack.__file__).parent
tokens: set[str] = set()
init = (root / "__init__.py").read_text()
for blob in re.findall(r'_utilities\.register\(\s*resource_modules="""(.*?)"""', init, re.S):
    for mod in json.loads(blob):
        tokens.update(mod["classes"])
for path in root.rglob("*.py"):
    tokens.update(re.findall(r"invoke\('(openstack:[\w/]+:\w+)'", path.read_text()))
print("\n".join(sorted(tokens)))
