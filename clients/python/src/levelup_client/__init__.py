"""levelup-client: a Python client for the Levelling Up open-data API.

    from levelup_client import Client
    with Client("http://127.0.0.1:8000") as api:
        frame = api.observations(indicator="iod2025-imd-score", type="LSOA", parent="E08000003").to_pandas()

See the package README and docs/client.md of the API's repository for a tour."""

from ._version import __version__
from .client import AsyncClient, AsyncDatasetRef, Client, DatasetRef
from .errors import (
    ApiError,
    AuthenticationFailed,
    BadRequest,
    ConnectionFailed,
    IntegrityError,
    LevelUpError,
    MissingExtra,
    NotFound,
    RateLimited,
    ServerError,
)
from .models import (
    AggregateValue,
    Ancestor,
    Area,
    AreaChange,
    AreaLink,
    AreaSummary,
    AreaType,
    Dataset,
    Download,
    HarmonisedObservation,
    Indicator,
    Observation,
    Period,
    PointArea,
    ProfileRow,
    Record,
    Release,
    SeriesPoint,
    Vintage,
)
from .results import AsyncResults, Results
from .retry import Retry, parse_retry_after

__all__ = [
    "AggregateValue",
    "Ancestor",
    "ApiError",
    "Area",
    "AreaChange",
    "AreaLink",
    "AreaSummary",
    "AreaType",
    "AsyncClient",
    "AsyncDatasetRef",
    "AsyncResults",
    "AuthenticationFailed",
    "BadRequest",
    "Client",
    "ConnectionFailed",
    "Dataset",
    "DatasetRef",
    "Download",
    "HarmonisedObservation",
    "Indicator",
    "IntegrityError",
    "LevelUpError",
    "MissingExtra",
    "NotFound",
    "Observation",
    "Period",
    "PointArea",
    "ProfileRow",
    "RateLimited",
    "Record",
    "Release",
    "Results",
    "Retry",
    "SeriesPoint",
    "ServerError",
    "Vintage",
    "__version__",
    "parse_retry_after",
]
