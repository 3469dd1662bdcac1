from django.urls import path

from . import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("areas/<str:code>/", views.AreaView.as_view(), name="area-page"),
    path("missions/", views.MissionListView.as_view(), name="missions-page"),
    path("missions/<int:number>/", views.MissionView.as_view(), name="mission-page"),
    path("explore/", views.ExploreView.as_view(), name="explore-page"),
]
