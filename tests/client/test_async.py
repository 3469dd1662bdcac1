"""The AsyncClient against a real server: the same rows as the sync client, its own cache's 304s,
lazy async iteration over pages, frames and errors."""

from __future__ import annotations

import asyncio

import pytest
from levelup_client import AsyncClient, Client, NotFound

from tests.client.conftest import AsyncTap

pytestmark = pytest.mark.django_db


def test_the_same_rows_as_the_sync_client(live_api, tmp_path):
    async def pull():
        sent = AsyncTap()
        async with AsyncClient(live_api, cache_dir=tmp_path / "async", transport=sent) as api:
            results = api.children("E08000003", type="LSOA", vintage="LSOA21", page_size=100)
            count = await results.count()
            codes = [a.code async for a in results]
            observations = await api.observations("iod2025-imd-score", area=codes[:3]).to_list()
            again = await api.observations("iod2025-imd-score", area=codes[:3]).to_list()
            blackpool = await api.area("E06000009")
            with pytest.raises(NotFound):
                await api.area("E99999999")
            return count, codes, observations, again, blackpool, sent.statuses

    count, codes, observations, again, blackpool, statuses = asyncio.run(pull())
    assert count == 295 and len(codes) == 295
    assert statuses[:5] == [200, 200, 200, 200, 304]  # 3 pages, the observations, then their revalidation
    assert again == observations
    with Client(live_api, cache=False) as sync:
        assert sync.observations("iod2025-imd-score", area=codes[:3]).to_list() == observations
        assert sync.area("E06000009") == blackpool


def test_async_frames(live_api, tmp_path):
    pytest.importorskip("pandas")

    async def pull():
        async with AsyncClient(live_api, cache=False) as api:
            return await api.profile("E06000009").to_pandas()

    frame = asyncio.run(pull())
    assert {"lci", "uci", "status", "region_comparison", "national_comparison"} <= set(frame.columns)
    assert (frame["area_code"] == "E06000009").all()
