from django.urls import path

from . import tiles, views

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
]
