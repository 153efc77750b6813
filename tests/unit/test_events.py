import json
from pathlib import Path

import pytest

from deployer.entrypoints.acr_events import parse_event

FIXTURES = Path(__file__).parent.parent / "fixtures" / "acr"
INDEX = "application/vnd.oci.image.index.v1+json"


def sample(name):
    payload = json.loads((FIXTURES / name).read_text())
    return payload[0] if isinstance(payload, list) else payload


@pytest.mark.parametrize("name", ["imagepushed.eventgrid.json", "imagepushed.cloudevents.json"])
def test_both_schemas_of_the_documented_sample_read_as_the_same_push(name):
    event = parse_event(sample(name))
    assert event.kind == "push"
    assert event.push.image == "demo.azurecr.io/aci-helloworld:v1"
    assert event.push.digest.startswith("sha256:213bbc18")
    assert event.push.registry == "demo.azurecr.io"


@pytest.mark.parametrize("name", ["imagedeleted.eventgrid.json", "imagedeleted.cloudevents.json"])
def test_image_deleted_is_ignored_not_an_error(name):
    event = parse_event(sample(name))
    assert event.kind == "ignored" and event.event_type == "Microsoft.ContainerRegistry.ImageDeleted"


def test_a_tagged_multi_arch_index_is_a_push_of_the_index():
    raw = sample("imagepushed.eventgrid.json")
    raw["data"]["target"]["mediaType"] = INDEX
    event = parse_event(raw)
    assert event.kind == "push" and event.push.tag == "v1"


def test_a_push_by_digest_without_a_tag_reads_as_an_untagged_push():
    raw = sample("imagepushed.eventgrid.json")
    del raw["data"]["target"]["tag"]
    event = parse_event(raw)
    assert event.kind == "push" and event.push.tag is None
    assert event.push.image == "demo.azurecr.io/aci-helloworld@" + raw["data"]["target"]["digest"]


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda e: e["data"]["target"].update(repository="../etc/passwd"), "is not a repository name"),
        (lambda e: e["data"]["target"].update(tag="v1;rm -rf"), "is not a valid tag"),
        (lambda e: e["data"]["target"].update(digest="sha256:xyz"), "is not a sha256 digest"),
        (lambda e: e.pop("data"), "no data.target"),
        (lambda e: e.pop("id"), "malformed event envelope"),
    ],
)
def test_malformed_events_are_invalid_with_a_reason_never_an_exception(mutate, problem):
    raw = sample("imagepushed.eventgrid.json")
    mutate(raw)
    event = parse_event(raw)
    assert event.kind == "invalid" and problem in event.reason
