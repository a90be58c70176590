"""Run the bridge binary under test from Python unittest tests."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

# Values the test policy files reference; tests search output for them to prove they never leak.
SECRETS = {
    "BRIDGE_TEST_SECRET": "s3cret-value-7f3a",
    "BRIDGE_TEST_WEBHOOK": "https://hooks.example.com/services/T0/B0/webhook-token-91c2",
    "BRIDGE_TEST_HTTP_WEBHOOK": "http://hooks.example.com/x",
    "JAMF_CLIENT_ID": "example-client-id",
    "JAMF_CLIENT_SECRET": "example-client-secret-5d1e",
    "JAMF_PLATFORM_CLIENT_ID": "example-platform-id",
    "JAMF_PLATFORM_CLIENT_SECRET": "example-platform-secret-a8b0",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/slack-token-44e7",
}


def bridge(*args, env=None, cwd=None, timeout=60):
    """Run bridge with args; returns subprocess.CompletedProcess with text stdout/stderr.

    The environment holds the test secrets (and nothing else from the caller's
    BRIDGE_* variables) plus whatever env adds; a value of None removes a variable.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    full_env.update(SECRETS)
    full_env["BRIDGE_BIN"] = os.environ["BRIDGE_BIN"]
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    return subprocess.run([os.environ["BRIDGE_BIN"], *args], env=full_env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def assert_no_secrets(test, *texts):
    """Fail test if any secret value appears in any of texts."""
    for text in texts:
        for name, value in SECRETS.items():
            test.assertNotIn(value, text, f"the value of {name} leaked into output")
