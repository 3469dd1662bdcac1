from django.urls import path

from . import datasets, tiles, views

urlpatterns = [
    path("indicators/", views.IndicatorListView.as_view(), name="indicator-list"),
    path("indicators/<slug:slug>/", views.IndicatorDetailView.as_view(), name="indicator-detail"),
    path("indicators/<slug:slug>/aggregate/", views.IndicatorAggregateView.as_view(), name="indicator-aggregate"),
    path("areas/<str:code>/series/", views.AreaSeriesView.as_view(), name="area-series"),
    path("custom-areas/<uuid:id>/observations/", views.CustomAreaObservationsView.as_view(),
         name="custom-area-observations"),
    path("periods/", views.PeriodListView.as_view(), name="period-list"),
    path("observations/", views.ObservationListView.as_view(), name="observation-list"),
    # z, x and y as strings: the view refuses a bad one with a 400 naming it (a converter would 404).
    path("tiles/<str:vintage>/<str:z>/<str:x>/<str:y>.mvt", tiles.TileView.as_view(), name="tile"),
    path("tiles/<str:vintage>/legend.json", tiles.TileLegendView.as_view(), name="tile-legend"),
    # Datasets and their bulk files (docs/bulk.md). A slug has no dot, so the snapshot's names never
    # meet a dataset's; release ids as strings: the view refuses a bad one with a 400 naming it.
    path("datasets/", datasets.DatasetListView.as_view(), name="dataset-list"),
    path("datasets/snapshot.parquet", datasets.SnapshotParquetView.as_view(), name="dataset-snapshot-parquet"),
    path("datasets/snapshot.csv.gz", datasets.SnapshotCsvGzView.as_view(), name="dataset-snapshot-csv-gz"),
    path("datasets/<slug:slug>/", datasets.DatasetDetailView.as_view(), name="dataset-detail"),
    path("datasets/<slug:slug>/releases/", datasets.DatasetReleasesView.as_view(), name="dataset-release-list"),
    path("datasets/<slug:slug>/releases/<str:id>/", datasets.ReleaseDetailView.as_view(),
         name="dataset-release-detail"),
    path("datasets/<slug:slug>/releases/<str:id>/compare/<str:other>/", datasets.ReleaseCompareView.as_view(),
         name="dataset-release-compare"),
    path("datasets/<slug:slug>/releases/<str:id>/download.parquet", datasets.ReleaseParquetView.as_view(),
         name="dataset-release-parquet"),
    path("datasets/<slug:slug>/releases/<str:id>/download.csv.gz", datasets.ReleaseCsvGzView.as_view(),
         name="dataset-release-csv-gz"),
]
