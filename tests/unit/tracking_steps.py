"""Steps the tracking tests share: a push of support-bot and a tick of the poll on the fakes."""

from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from tests.unit.builders import digest_for, pushed


def deploy(ctx, tag, n=0):
    [record] = [d for d in handle_event(ctx, pushed(tag, digest=digest_for(n))) if d.agent == "support-bot"]
    return record


def tick(ctx, seconds=2.0):
    ctx.clock.advance(seconds)
    return poll_once(ctx, concurrency=4, budget_s=20)
