from django.urls import path

from . import views

urlpatterns = [
    path("area-types/", views.AreaTypeListView.as_view(), name="areatype-list"),
    path("vintages/", views.VintageListView.as_view(), name="vintage-list"),
    path("areas/", views.AreaListView.as_view(), name="area-list"),
    path("areas/<str:code>/", views.AreaDetailView.as_view(), name="area-detail"),
    path("areas/<str:code>/children/", views.AreaChildrenView.as_view(), name="area-children"),
    path("areas/<str:code>/ancestors/", views.AreaAncestorsView.as_view(), name="area-ancestors"),
    path("areas/<str:code>/boundary/", views.AreaBoundaryView.as_view(), name="area-boundary"),
    path("custom-areas/", views.CustomAreaCreateView.as_view(), name="custom-area-create"),
    path("custom-areas/<uuid:id>/", views.CustomAreaDetailView.as_view(), name="custom-area-detail"),
    path("boundaries/", views.BoundaryCollectionView.as_view(), name="boundary-list"),
    path("lookup/point/", views.PointLookupView.as_view(), name="point-lookup"),
]
