"""A stateful, thread-safe simulation of the AppStream 2.0 API subset the image updater uses.

Real `boto3.client("appstream")` calls are answered in-process through botocore's event system,
so the code under test keeps its real client, client-side validation and exception classes, and
nothing reaches the network. Each request is answered where botocore would send it, with an
HTTP response in AppStream's wire protocol (`wire`): botocore parses it and
applies its retry policy as it does against AWS, and every request it sends, re-sends
included, is one entry in `calls`. The simulation also checks what the service checks and botocore
does not (`pattern`, `max`, `enum`, map sizes) and records each breach in `violations`; and it
checks its own responses against the model, so a fault in the simulation cannot pass for one in
the code under test.

    sim = SimulatedAppStream()
    sim.add_image("SalesApps")
    with sim.active():
        client = boto3.client("appstream", region_name="us-east-1")
        client.describe_images(Names=["SalesApps"])

Only sessions created after this package is imported carry the hooks (`hooks`); `activate()`
drops boto3's cached default session so that `boto3.client()` builds a new one. A client built
from an older session is not intercepted and would call AWS.

The package mirrors `image_updater.integrations.appstream`: one module per part of the service
(`images`, `updates`, `fleets`, `tags`, `builders`, `permissions`, `quotas`, `copies`), each a
mixin over the account's one state (`state`), put together in `simulation`; `regions` gives the
account's other Regions (`sim.in_region("eu-west-1")`: a client's Region picks the state that
answers it); `failures` injects errors and lost responses,
`constraints` holds everything to botocore's model, `wire` and `hooks` speak to botocore.
"""

from rehearsal.appstream.constraints import request_violations
from rehearsal.appstream.failures import LOST_RESPONSE, NETWORK_FAILURE
from rehearsal.appstream.hooks import install_hooks
from rehearsal.appstream.simulation import SimulatedAppStream
from rehearsal.appstream.state import DEFAULT_UPDATE_POLLS, Call, SimulationError
from rehearsal.appstream.updates import MANAGED_UPDATE_PLATFORMS

__all__ = [
    "DEFAULT_UPDATE_POLLS",
    "LOST_RESPONSE",
    "MANAGED_UPDATE_PLATFORMS",
    "NETWORK_FAILURE",
    "Call",
    "SimulatedAppStream",
    "SimulationError",
    "install_hooks",
    "request_violations",
]
