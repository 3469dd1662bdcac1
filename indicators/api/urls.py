from django.urls import path

from . import views

urlpatterns = [
    path("indicators/", views.IndicatorListView.as_view(), name="indicator-list"),
    path("indicators/<slug:slug>/", views.IndicatorDetailView.as_view(), name="indicator-detail"),
    path("indicators/<slug:slug>/aggregate/", views.IndicatorAggregateView.as_view(), name="indicator-aggregate"),
    path("areas/<str:code>/series/", views.AreaSeriesView.as_view(), name="area-series"),
    path("custom-areas/<uuid:id>/observations/", views.CustomAreaObservationsView.as_view(),
         name="custom-area-observations"),
    path("periods/", views.PeriodListView.as_view(), name="period-list"),
    path("observations/", views.ObservationListView.as_view(), name="observation-list"),
]
