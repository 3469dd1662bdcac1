from django.urls import path

from . import catalog, views

urlpatterns = [
    path("missions/", views.MissionListView.as_view(), name="mission-list"),
    path("missions/<int:number>/", views.MissionDetailView.as_view(), name="mission-detail"),
    path("missions/<int:number>/progress/", views.MissionProgressView.as_view(), name="mission-progress"),
    path("areas/<str:code>/profile/", views.AreaProfileView.as_view(), name="area-profile"),
    path("areas/<str:code>/missions/", views.AreaMissionsView.as_view(), name="area-missions"),
    path("areas/<str:code>/similar/", views.AreaSimilarView.as_view(), name="area-similar"),
    path("profiles/", views.ProfileListView.as_view(), name="profile-list"),
    # The DCAT catalogue of every dataset (JSON-LD; missions.catalog): here, since its keywords are missions.
    path("catalog", catalog.CatalogView.as_view(), name="catalog"),
]
