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

import atexit
import json
import subprocess
import sys
from pathlib import Path

from twilio.request_validator import RequestValidator

VONAGE_SIGNER_DIR = Path(sys.prefix) / "vonage-signer"

# One signer per test process, started at its first use and answering one line of jobs with one
# line of signatures: an interpreter that imports the SDKs (and their PyPI requests) took about half
# a second to start, once per signing test before.
_VONAGE_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import warnings
warnings.simplefilter("ignore")
for line in sys.stdin:
    out = []
    for job in json.loads(line):
        params = dict(job["params"])
        if job["method"] == "md5hash":
            import vonage
            client = vonage.Client(key="key", secret="secret", signature_secret=job["secret"], signature_method=None)
            out.append(client.signature(params))
        else:
            from vonage_http_client.auth import Auth
            auth = Auth(api_key="key", signature_secret=job["secret"], signature_method=job["method"])
            out.append(auth.sign_params(params))
    print(json.dumps(out), flush=True)
"""

_signer: subprocess.Popen | None = None


def _vonage_signer() -> subprocess.Popen:
    global _signer
    if _signer is None or _signer.poll() is not None:
        _signer = subprocess.Popen(
            [sys.executable, "-I", "-c", _VONAGE_SCRIPT, str(VONAGE_SIGNER_DIR)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd="/",
        )
        atexit.register(_signer.kill)
    return _signer


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
    signer = _vonage_signer()
    assert signer.stdin is not None and signer.stdout is not None
    signer.stdin.write(payload + "\n")
    signer.stdin.flush()
    answer = signer.stdout.readline()
    if not answer:
        raise AssertionError(f"Vonage's signer stopped (exit code {signer.wait()}): its error is above.")
    return json.loads(answer)


def vonage_signature(params: dict, secret: str, method: str) -> str:
    return vonage_signatures([(params, secret, method)])[0]
