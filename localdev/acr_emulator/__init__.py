"""A local stand-in for the Azure Container Registry data plane that ``azure-containerregistry``
talks to: the token exchange, tag and manifest properties (``/acr/v1``) and the OCI distribution
manifest endpoint (``/v2``). HTTPS with the local CA (``localdev.tls``), trusted through
``REQUESTS_CA_BUNDLE``.

One stand-in answers for every registry. The login server is the first path segment: the
endpoint of registry ``myregistry.azurecr.io`` is ``https://127.0.0.1:{port}/myregistry.azurecr.io``
(``RegistryServer.registry_endpoint``), so in Azure the app's endpoint is ``https://{login server}``
and locally ``{origin}/{login server}``, a difference of configuration only. The ``Host`` header
plays no part (requests arrive with the stand-in's own host), and an image's key is
``(login server, repository)``: two registries may hold the same repository apart. The token
``service`` is the login server, as in ACR.

Routes are documented in ``localdev.acr_emulator.api``, the admin API (seeding images, the
request log, reset) in ``localdev.acr_emulator.admin``.

In process::

    server = start_registry(tls=ensure_local_tls(directory))
    client = ContainerRegistryClient(server.registry_endpoint("myregistry.azurecr.io"), credential)
    ...
    server.shutdown()

From a shell: ``python -m localdev.acr_emulator --port 0 --tls-dir DIR`` prints
``READY https://127.0.0.1:<port>`` once listening and stops on SIGTERM/SIGINT.
"""

from localdev.acr_emulator.server import RegistryServer, start_registry
from localdev.acr_emulator.state import RegistryState

__all__ = ["RegistryServer", "RegistryState", "start_registry"]
