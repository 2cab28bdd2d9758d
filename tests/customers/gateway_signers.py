"""Signed requests as the SMS gateways make them, signed by the gateways' own official libraries.

Twilio: twilio.request_validator.RequestValidator, imported here (it imports no PyPI `requests`;
twilio is installed with --no-deps, see requirements-nodeps.txt).

Vonage: every Vonage package imports PyPI `requests`, which our app named `requests` shadows, so
the SDKs live in a directory of their own (.venv/vonage-signer, `make install`) and sign in a
separate, isolated interpreter (`python -I`, so neither the working directory nor PYTHONPATH is on
its path) with only that directory added: the current SDK's Auth.sign_params for the HMAC
variants, and vonage 3.x's Client.signature for the plain MD5-hash variant.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from twilio.request_validator import RequestValidator

VONAGE_SIGNER_DIR = Path(sys.prefix) / "vonage-signer"

_VONAGE_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import warnings
warnings.simplefilter("ignore")
jobs = json.load(sys.stdin)
out = []
for job in jobs:
    params = dict(job["params"])
    if job["method"] == "md5hash":
        import vonage
        client = vonage.Client(key="key", secret="secret", signature_secret=job["secret"], signature_method=None)
        out.append(client.signature(params))
    else:
        from vonage_http_client.auth import Auth
        auth = Auth(api_key="key", signature_secret=job["secret"], signature_method=job["method"])
        out.append(auth.sign_params(params))
print(json.dumps(out))
"""


def twilio_signature(url: str, params: dict, token: str) -> str:
    return RequestValidator(token).compute_signature(url, params)


def twilio_validates(url: str, params: dict, token: str, signature: str) -> bool:
    """Twilio's own verdict on a signature (what our receiver must agree with)."""
    return RequestValidator(token).validate(url, params, signature)


def vonage_signatures(jobs: list[tuple[dict, str, str]]) -> list[str]:
    """Vonage's sig for each (params, secret, method), from the official SDKs, in one interpreter."""
    if not (VONAGE_SIGNER_DIR / "vonage_http_client").is_dir():
        raise AssertionError(f"Vonage's SDKs are not installed in {VONAGE_SIGNER_DIR}: run `make install`.")
    payload = json.dumps([{"params": p, "secret": s, "method": m} for p, s, m in jobs])
    done = subprocess.run(
        [sys.executable, "-I", "-c", _VONAGE_SCRIPT, str(VONAGE_SIGNER_DIR)],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        timeout=60,
    )
    return json.loads(done.stdout)


def vonage_signature(params: dict, secret: str, method: str) -> str:
    return vonage_signatures([(params, secret, method)])[0]
