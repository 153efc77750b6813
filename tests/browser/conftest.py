"""The dashboard in headless Chromium against a local stack of its own (Azurite, the Foundry and
ARM emulators, the dev host checking its keys, polling every second)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.stack import ROOT, Stack
from tests.browser.stack_client import StackClient
from tests.browser.webdriver import CHROMEDRIVER, CHROMIUM, ENTER, Browser, start_driver

HERE = Path(__file__).parent
SCREENSHOTS = ROOT / ".local" / "screenshots"


@pytest.fixture(scope="session")
def browser_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(
        config_path=HERE / "deployer.browser.yaml",
        state_dir=tmp_path_factory.mktemp("browser-stack"),
        env={"POLL_SCHEDULE": "*/1 * * * * *"},
        foundry_settings={"projects": ["local"]},
        check_keys=True,
    ) as running:
        yield running


@pytest.fixture(scope="session")
def client(browser_stack: Stack) -> StackClient:
    assert browser_stack.info is not None
    client = StackClient(browser_stack.info)
    client.emulator_settings(provision_delay_s=0.5)
    return client


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail(
            "Chromium is not installed: 'make test' installs it (apt-get install chromium chromium-driver)"
        )
    process, url = start_driver()
    try:
        session = Browser(url, tmp_path_factory.mktemp("chromium-profile"))
        try:
            yield session
        finally:
            session.quit()
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def dashboard(browser: Browser, client: StackClient) -> Browser:
    """The page open at 1280x800 refreshing every second, the function key typed into the form the
    page shows first and sent with Enter."""
    browser.viewport(1280, 800)
    browser.open(f"{client.info.deployer_url}/api/ui?refresh=1")
    browser.wait_for(
        lambda: browser.run("return !document.getElementById('key-form').hidden"), "the key form"
    )
    browser.type("#key-input", client.info.function_key + ENTER)
    browser.wait_for(
        lambda: browser.run("return document.querySelectorAll('[data-agent] h3').length"), "agents"
    )
    return browser
