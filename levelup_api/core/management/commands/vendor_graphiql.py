"""Copy GraphiQL and what it needs (React, ReactDOM, graphql-ws, the explorer plugin, a fetch
polyfill) from the npm registry into levelup_api/core/static/vendor/graphiql/, so /graphql's page
loads nothing from another origin. The versions and SRI hashes are graphene-django's own (its
GraphQLView attributes), so they follow the pinned graphene-django; each file is checked against
its hash before it is written."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from graphene_django.views import GraphQLView

DEST = Path(__file__).resolve().parents[2] / "static" / "vendor" / "graphiql"

# npm package, GraphQLView version attribute, [(file in the package, file here, GraphQLView SRI attribute)]
ASSETS = [
    ("whatwg-fetch", "whatwg_fetch_version", [("dist/fetch.umd.js", "fetch.umd.js", "whatwg_fetch_sri")]),
    ("react", "react_version", [("umd/react.production.min.js", "react.production.min.js", "react_sri")]),
    ("react-dom", "react_version",
     [("umd/react-dom.production.min.js", "react-dom.production.min.js", "react_dom_sri")]),
    ("graphiql", "graphiql_version", [("graphiql.min.js", "graphiql.min.js", "graphiql_sri"),
                                      ("graphiql.min.css", "graphiql.min.css", "graphiql_css_sri")]),
    ("graphql-ws", "subscriptions_transport_ws_version",
     [("umd/graphql-ws.min.js", "graphql-ws.min.js", "subscriptions_transport_ws_sri")]),
    ("@graphiql/plugin-explorer", "graphiql_plugin_explorer_version",
     [("dist/graphiql-plugin-explorer.umd.js", "graphiql-plugin-explorer.umd.js", "graphiql_plugin_explorer_sri"),
      ("dist/style.css", "plugin-explorer.css", "graphiql_plugin_explorer_css_sri")]),
]


def tarball_name(package: str, version: str) -> str:
    """The file `npm pack` writes: scope dropped into the name (@a/b -> a-b-1.0.0.tgz)."""
    return f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"


def sri(data: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


class Command(BaseCommand):
    help = "Vendor GraphiQL's assets from the npm registry (graphene-django's pinned versions, SRI-checked)."

    def add_arguments(self, parser):
        parser.add_argument("--tarballs", type=Path,
                            help="A folder already holding the `npm pack` tarballs (no npm needed).")

    def handle(self, *args, tarballs: Path | None = None, **options):
        wanted = [(package, getattr(GraphQLView, version)) for package, version, _ in ASSETS]
        with tempfile.TemporaryDirectory() as scratch:
            source = tarballs
            if source is None:
                npm = shutil.which("npm")
                if npm is None:
                    raise CommandError("npm is needed to fetch GraphiQL (or pass --tarballs DIR)")
                source = Path(scratch)
                subprocess.run([npm, "pack", "--silent", "--pack-destination", str(source),
                                *(f"{p}@{v}" for p, v in wanted)], check=True, stdout=subprocess.DEVNULL)
            DEST.mkdir(parents=True, exist_ok=True)
            for (package, version), (_, _, files) in zip(wanted, ASSETS, strict=True):
                with tarfile.open(source / tarball_name(package, version)) as archive:
                    for inside, here, sri_attr in files:
                        data = archive.extractfile(f"package/{inside}").read()
                        if sri(data) != getattr(GraphQLView, sri_attr):
                            raise CommandError(f"{package}@{version} {inside}: SRI hash differs from graphene-django's")
                        (DEST / here).write_bytes(data)
                        self.stdout.write(f"{package}@{version}: {inside} -> {DEST / here}")
