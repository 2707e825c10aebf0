from collections.abc import AsyncIterator

import pytest

from tests.production.cluster import Client, Cluster


@pytest.fixture
async def alice(cluster: Cluster) -> AsyncIterator[Client]:
    """Alice signed in on the module's cluster's first process."""
    client = await Client(cluster.processes[0].url).login("alice")
    yield client
    await client.close()
