import base64
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from deployer.notify.signing import headers, signature

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def test_signatures_verify_with_the_standard_webhooks_library():
    body = json.dumps({"type": "deployment.active"}).encode()
    now = int(datetime.now(UTC).timestamp())
    signed = headers(SECRET, "0123.active", now, body)
    assert signed["webhook-id"] == "0123.active" and signed["webhook-timestamp"] == str(now)
    assert signed["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(body, signed) == {"type": "deployment.active"}


def test_our_signature_is_the_one_the_library_makes():
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ours = signature(SECRET, "msg_1", int(when.timestamp()), b'{"a":1}')
    assert ours == Webhook(SECRET).sign("msg_1", when, '{"a":1}')


def test_a_changed_body_or_another_secret_does_not_verify():
    now = int(datetime.now(UTC).timestamp())
    signed = headers(SECRET, "id-1", now, b"{}")
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(b'{"x":1}', signed)
    other = "whsec_" + base64.b64encode(b"z" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(b"{}", signed)
