"""A local emulator of Azure Resource Manager's role assignments (Microsoft.Authorization), for
the runtime-role grant of agent identities, that ``azure-mgmt-authorization`` talks to.

HTTPS with the local CA (``localdev.tls``), bearer token required; trusted through
``REQUESTS_CA_BUNDLE``, so the deployer reaches it by its ``ARM_ENDPOINT`` setting alone. Routes
and the admin API are documented in ``localdev.arm_emulator.api``.

In process: ``start_arm_emulator(tls=ensure_local_tls(directory))``; from a shell:
``python -m localdev.arm_emulator --port 0 --tls-dir DIR`` prints ``READY https://127.0.0.1:<port>``
once listening and stops on SIGTERM/SIGINT.
"""

from localdev.arm_emulator.server import ArmEmulator, start_arm_emulator
from localdev.arm_emulator.state import ArmState

__all__ = ["ArmEmulator", "ArmState", "start_arm_emulator"]
