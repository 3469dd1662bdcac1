"""Locust users for bench/load.py; LEVELUP_LOAD_SCENARIO picks one: mix, trivial, ping, profiles,
profiles-cold or revalidated. With LEVELUP_LOAD_KEYS (a file of API keys, one a line), every
simulated client sends a key of its own as X-API-Key, as each partner would (one key's quota would
throttle the whole load)."""

import itertools
import json
import os
import random

from locust import FastHttpUser, constant, task

SCENARIO = os.environ.get("LEVELUP_LOAD_SCENARIO", "mix")
LADS = os.environ.get("LEVELUP_LOAD_LADS", "E06000009,E08000003").split(",")
LSOAS = os.environ.get("LEVELUP_LOAD_LSOAS", "E01005061").split(",")
# Many distinct areas (a file of codes, one per line), so that profiles are computed, not cached.
COLD = (open(os.environ["LEVELUP_LOAD_COLD_AREAS"]).read().split() if os.environ.get("LEVELUP_LOAD_COLD_AREAS")
        else LADS + LSOAS)
INDICATOR = os.environ.get("LEVELUP_LOAD_INDICATOR", "iod2025-imd-score")
SLICE = os.environ.get("LEVELUP_LOAD_SLICE",
                       "/api/v1/observations/?indicator=gross-median-weekly-pay&area_type=LAD&period=latest")
KEYS = open(os.environ["LEVELUP_LOAD_KEYS"]).read().split() if os.environ.get("LEVELUP_LOAD_KEYS") else []
_next_key = itertools.count()
GRAPHQL = json.dumps({"query": '{ area(code: "E08000003") { children(type: "LSOA") { code observations('
                               f'indicator: "{INDICATOR}", period: "latest") {{ value }} }} }} }}'})


class Client(FastHttpUser):
    """A client with its own API key on every request (when bench/load.py gave keys)."""

    abstract = True

    def __init__(self, environment):
        if KEYS:
            self.default_headers = {"X-API-Key": KEYS[next(_next_key) % len(KEYS)]}
        super().__init__(environment)


class Mix(Client):
    """A realistic mix: lookups, profiles, slices and GraphQL, as dashboards and partners call them."""

    wait_time = constant(0)
    weight = 1 if SCENARIO == "mix" else 0

    @task(4)
    def area(self):
        self.client.get(f"/api/v1/areas/{random.choice(LADS)}/", name="area")

    @task(3)
    def point(self):
        lon, lat = random.uniform(-2.9, -1.0), random.uniform(51.5, 54.5)
        self.client.get(f"/api/v1/lookup/point/?lon={lon:.5f}&lat={lat:.5f}", name="point lookup")

    @task(3)
    def profile(self):
        self.client.get(f"/api/v1/areas/{random.choice(LADS + LSOAS)}/profile/", name="profile")

    @task(2)
    def slice(self):
        self.client.get(SLICE, name="observations (slice)")

    @task(1)
    def graphql(self):
        self.client.post("/graphql", data=GRAPHQL, headers={"Content-Type": "application/json"}, name="graphql")


class Trivial(Client):
    """`/healthz`, a view that does nothing, through the same server and middleware, but outside
    DRF: no key checked, no quota counted."""

    wait_time = constant(0)
    weight = 1 if SCENARIO == "trivial" else 0

    @task
    def healthz(self):
        self.client.get("/healthz", name="healthz")


class Ping(Client):
    """The floor: `/api/ping`, a view that does nothing but is counted like any API request (DRF,
    the key's check, the quota)."""

    wait_time = constant(0)
    weight = 1 if SCENARIO == "ping" else 0

    @task
    def ping(self):
        self.client.get("/api/ping", name="ping")


class Profiles(Client):
    """Full profiles (200, no conditional request) of the same few areas: after the first request
    per area and process they come from the server's profile cache."""

    wait_time = constant(0)
    weight = 1 if SCENARIO == "profiles" else 0

    @task
    def profile(self):
        self.client.get(f"/api/v1/areas/{random.choice(LADS + LSOAS)}/profile/", name="profile")


class ColdProfiles(Client):
    """Full profiles of areas drawn from tens of thousands: nearly every one is computed."""

    wait_time = constant(0)
    weight = 1 if SCENARIO == "profiles-cold" else 0

    @task
    def profile(self):
        self.client.get(f"/api/v1/areas/{random.choice(COLD)}/profile/", name="profile (distinct areas)")


class Revalidated(Client):
    """Conditional requests that a cache revalidates: 304 every time."""

    wait_time = constant(0)
    weight = 1 if SCENARIO == "revalidated" else 0

    def on_start(self):
        self.etag = self.client.get("/api/v1/areas/E06000009/profile/", name="first").headers["ETag"]

    @task
    def again(self):
        with self.client.get("/api/v1/areas/E06000009/profile/", headers={"If-None-Match": self.etag},
                             name="304", catch_response=True) as response:
            if response.status_code == 304:
                response.success()
