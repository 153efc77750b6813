"""A local emulator of the Foundry Agent Service (hosted agents) that the real SDK talks to.

Serves HTTPS with a local CA (``localdev.tls``); clients trust it through ``REQUESTS_CA_BUNDLE``
(azure-core/requests) and ``SSL_CERT_FILE`` (httpx, used by the OpenAI client).

Project endpoints are ``https://127.0.0.1:{port}/api/projects/{project}``; the ``projects``
setting names the projects that exist (by default every project exists on first use). The admin
API is documented in ``localdev.foundry_emulator.admin``.

In process::

    server = start_emulator(tls=ensure_local_tls(directory))
    endpoint = server.project_endpoint("demo")
    ...
    server.shutdown()

From a shell: ``python -m localdev.foundry_emulator --host 127.0.0.1 --port 0 --tls-dir DIR``
prints ``READY https://127.0.0.1:<port>`` once listening and stops on SIGTERM/SIGINT.
"""

from localdev.foundry_emulator.server import EmulatorServer, start_emulator
from localdev.foundry_emulator.state import EmulatorState

__all__ = ["EmulatorServer", "EmulatorState", "start_emulator"]
