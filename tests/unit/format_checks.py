"""What a valid Slack and Teams message looks like (their documented limits), shared by the unit
and integration tests of the formats."""


def check_slack(message):
    assert set(message) <= {"text", "blocks"} and isinstance(message["text"], str) and message["text"]
    blocks = message["blocks"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        kind = block["type"]
        assert kind in {"header", "section", "context", "divider"}
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        if kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert (
                    block["text"]["type"] in {"mrkdwn", "plain_text"} and len(block["text"]["text"]) <= 3000
                )
            for item in block.get("fields", []):
                assert item["type"] in {"mrkdwn", "plain_text"} and len(item["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        if kind == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(e["type"] in {"mrkdwn", "plain_text", "image"} for e in block["elements"])


def check_teams(message):
    assert message["type"] == "message" and len(message["attachments"]) == 1
    attachment = message["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["type"] == "AdaptiveCard" and card["version"] in {"1.0", "1.2", "1.3", "1.4", "1.5"}
    for element in card["body"]:
        assert element["type"] in {"TextBlock", "FactSet"}
        if element["type"] == "TextBlock":
            assert isinstance(element["text"], str) and element["text"]
        else:
            assert all(
                set(f) == {"title", "value"} and all(isinstance(v, str) for v in f.values())
                for f in element["facts"]
            )
    for action in card.get("actions", []):
        assert action["type"] == "Action.OpenUrl" and action["title"] and action["url"].startswith("https://")
